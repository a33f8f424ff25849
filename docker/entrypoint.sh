#!/usr/bin/env bash
# Container entry point for asgl-bench (docker/Dockerfile, compose.yaml; see docs/docker.md).
#
#   (no arguments)  select the profile named by ASGL_PROFILE (if set), narrow it to ASGL_DATASETS and
#                   ASGL_METHODS (if set), then `dvc repro $ASGL_STAGES` (ASGL_STAGES empty = every stage)
#   <command ...>   the same set-up, then run the command instead, e.g.
#                   `python -m pytest -q`, `dvc stage list`, `dvc repro -f train@<method>`, `bash`
#
# The profile is read from profiles/<name>.yaml, never written: compose.yaml mounts the host's profiles/
# folder there (read-only), so an edited or added profile takes effect at the next start without a rebuild.
# params.yaml is the generated copy, rewritten at every start.
#
# Environment: ASGL_PROFILE, ASGL_DATASETS, ASGL_METHODS (names separated by commas or spaces; empty = all
#              of the profile's), ASGL_STAGES, ASGL_DATA_ROOT (default /app/data),
#              ASGL_DVC_LOCK_STORE (default results/dvc-<profile>.lock, one per profile; empty = keep
#              dvc.lock inside the container),
#              ASGL_GPU_PREFLIGHT (auto: before `dvc repro` of a profile that trains on CUDA; 1: always; 0: never).
set -euo pipefail

cd "${ASGL_APP_DIR:-/app}"

log() { printf 'asgl-entrypoint: %s\n' "$*" >&2; }

# 0) A user name for any uid.  Compose runs the container as the host user's uid, which the image's
#    /etc/passwd does not know; getpass.getuser() (DVC opening the repository, torch's compile caches) then
#    fails unless USER or LOGNAME is set.  Use the passwd name where there is one, else "uid<N>".
user_name="$(id -un 2>/dev/null)" || user_name="uid$(id -u)"
export USER="$user_name" LOGNAME="$user_name"

# GPU preflight, before anything is downloaded: the default command (`dvc repro`) or an explicit `dvc repro`
# of a profile that trains on CUDA stops here, in one line, if there is no usable GPU or the driver is too
# old for the torch build (docker/gpu_preflight.py).
preflight="${ASGL_GPU_PREFLIGHT:-auto}"
if [[ "$preflight" == "1" ]]; then
    python docker/gpu_preflight.py --require
elif [[ "$preflight" == "auto" && -n "${ASGL_PROFILE:-}" ]] \
        && [[ $# -eq 0 || ( "$1" == "dvc" && "${2:-}" == "repro" ) ]]; then
    python docker/gpu_preflight.py --profile "profiles/${ASGL_PROFILE}.yaml"
elif [[ "$preflight" != "0" && "$preflight" != "auto" ]]; then
    log "error: ASGL_GPU_PREFLIGHT must be auto, 1 or 0, got '${preflight}'"
    exit 2
fi

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

# DVC's site cache (DVC_SITE_CACHE_DIR, a volume under compose) holds the hashes of the data it has already
# read.  DVC files it under a key made of the repository path, the user and the mtime of .dvc/tmp/btime, a
# file it creates on first use; every new container would create a new one and re-hash all data.  A fixed
# mtime keeps the key, and so the cache, from one container to the next.
if [[ ! -e .dvc/tmp/btime ]] && mkdir -p .dvc/tmp 2>/dev/null; then
    touch -d @0 .dvc/tmp/btime
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
#    in the results folder (a bind mount under compose), one per profile, so that the paper and the embedded
#    runs never take each other's record.  DVC reads and rewrites a linked dvc.lock in place, but rejects a
#    dangling link, hence the seed: the image's dvc.lock, else an empty lock.
lock_store="${ASGL_DVC_LOCK_STORE-results/dvc-${ASGL_PROFILE:-default}.lock}"
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

# 4) Profile: rewrites params.yaml from profiles/<name>.yaml (read only), then keeps the datasets and methods
#    asked for (docker/select_runs.py; the stages fetch@/prepare@<dataset> and train@<method> follow).
if [[ -n "${ASGL_PROFILE:-}" ]]; then
    log "profile: ${ASGL_PROFILE}"
    python -m pipelines.commands.profile "${ASGL_PROFILE}"
fi
if [[ -n "${ASGL_DATASETS:-}${ASGL_METHODS:-}" ]]; then
    python docker/select_runs.py --params params.yaml --datasets "${ASGL_DATASETS:-}" --methods "${ASGL_METHODS:-}"
fi

if [[ $# -gt 0 ]]; then
    exec "$@"
fi

# ASGL_STAGES: whitespace-separated stage names (or dvc.yaml paths); stage names contain no spaces.
read -r -a stages <<< "${ASGL_STAGES:-}"
log "dvc repro ${stages[*]:-(all stages)}"
exec dvc repro "${stages[@]}"
