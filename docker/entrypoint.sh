#!/usr/bin/env bash
# Container entry point for asgl-bench (docker/Dockerfile, compose.yaml; see docs/docker.md).
#
#   (no arguments)  select the profile named by ASGL_PROFILE (if set), then `dvc repro $ASGL_STAGES`
#                   (ASGL_STAGES empty = every stage of dvc.yaml)
#   <command ...>   the same set-up, then run the command instead, e.g.
#                   `python -m pytest -q`, `dvc stage list`, `dvc repro -f train@<dataset>-<method>`, `bash`
#
# Environment: ASGL_PROFILE, ASGL_STAGES, ASGL_DATA_ROOT (default /app/data),
#              ASGL_DVC_LOCK_STORE (default results/dvc.lock; empty = keep dvc.lock inside the container).
set -euo pipefail

cd "${ASGL_APP_DIR:-/app}"

log() { printf 'asgl-entrypoint: %s\n' "$*" >&2; }

# 1) DVC without Git.  DVC needs a Git repository or `core.no_scm = true`, and the image has no .git
#    (.dockerignore).  The image's system-level DVC config (DVC_SYSTEM_CONFIG_DIR) sets no_scm already; a
#    repository-level .dvc/config would take precedence over it, so outside a Git work tree pin it at the
#    highest level, .dvc/config.local (per machine; DVC's own .dvc/.gitignore keeps it out of Git).
#    If the source carries no .dvc at all, create one without Git.
if [[ ! -e .git ]]; then
    if [[ ! -d .dvc ]]; then
        log "no .dvc directory: running 'dvc init --no-scm'"
        dvc init --no-scm --quiet
    elif [[ "$(dvc config --local core.no_scm 2>/dev/null || true)" != "true" ]]; then
        dvc config --local core.no_scm true
    fi
fi

# 2) Mounted folders must be writable by the container's user (compose.yaml runs as ASGL_UID:ASGL_GID).
#    Docker creates a missing bind-mount source as root, which that user cannot write: say so up front.
for dir in "${ASGL_DATA_ROOT:-data}" results .dvc/cache; do
    if [[ -e "$dir" && ! -w "$dir" ]]; then
        log "error: '$dir' is not writable by uid $(id -u) gid $(id -g)."
        log "Create the folders on the host before the first run (mkdir -p data results .dvc/cache)"
        log "and run as their owner: ASGL_UID=\$(id -u) ASGL_GID=\$(id -g) docker compose ..."
        exit 1
    fi
done

# 3) Keep dvc.lock with the results.  dvc.lock (repository root) records what produced the outputs; inside
#    the container it would vanish with the container, and the train stages (persistent outputs) are not
#    in DVC's run cache, so a fresh container would retrain everything.  dvc.lock becomes a link to a copy
#    in the results folder (a bind mount under compose).  DVC reads and rewrites a linked dvc.lock in
#    place, but rejects a dangling link, hence the seed: the image's dvc.lock, else an empty lock.
lock_store="${ASGL_DVC_LOCK_STORE-results/dvc.lock}"
if [[ -n "$lock_store" && ! -L dvc.lock ]] && mkdir -p "$(dirname "$lock_store")" 2>/dev/null; then
    if [[ ! -s "$lock_store" ]]; then
        if [[ -f dvc.lock ]]; then
            cp dvc.lock "$lock_store"
        else
            printf "schema: '2.0'\nstages: {}\n" > "$lock_store"
        fi
    fi
    ln -sfn "$(realpath "$lock_store")" dvc.lock
fi

# 4) Profile: rewrites params.yaml from profiles/<name>.yaml.
if [[ -n "${ASGL_PROFILE:-}" ]]; then
    log "profile: ${ASGL_PROFILE}"
    python -m pipelines.profile "${ASGL_PROFILE}"
fi

if [[ $# -gt 0 ]]; then
    exec "$@"
fi

# ASGL_STAGES: whitespace-separated stage names (or dvc.yaml paths); stage names contain no spaces.
read -r -a stages <<< "${ASGL_STAGES:-}"
log "dvc repro ${stages[*]:-(all stages)}"
exec dvc repro "${stages[@]}"
