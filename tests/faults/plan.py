"""The fault plan: every fault the suite injects, in quick mode (part of ``make test``) and long mode
(``make faults-long``). The tests parametrize from these lists, and ``docs/reliability.md`` carries the
table that ``python -m tests.faults.plan`` prints (a test checks that the two agree).
"""

from __future__ import annotations

import sys

import pytest

QUICK, LONG = "quick", "long"
MODES = (QUICK, LONG)


def mode_param(mode: str, *values, id: str | None = None):
    """A ``pytest.param`` marked ``faults_long`` and ``slow`` in long mode (so ``make test`` skips it)."""
    marks = (pytest.mark.faults_long, pytest.mark.slow) if mode == LONG else ()
    return pytest.param(*values, marks=marks, id=id)


# ------------------------------------------------------------------ interruption (SIGKILL)
# A kill chain: (backend, seed, random kills, epoch whose checkpoint write is killed first or 0). The run
# is restarted after each kill until it finishes.
TRAIN_CHAINS = {
    QUICK: [("numba", 0, 3, 2)],
    LONG: [(backend, seed, 7, 0) for backend in ("numba", "autograd") for seed in (1, 2, 3)],
}
# Kill inside the atomic checkpoint write of epoch e (half the bytes written), then finish: (backend, e).
CHECKPOINT_WRITE_KILLS = {
    QUICK: [],
    LONG: [(backend, e) for backend in ("numba", "autograd") for e in (1, 3, 5)],
}
# Kill a download after a fraction of the bytes arrived: (fraction, server honours Range).
DOWNLOAD_KILLS = {
    QUICK: [(0.4, True)],
    LONG: [(f, ranged) for f in (0.1, 0.5, 0.9) for ranged in (True, False)],
}
# Kill `python -m pipelines.stages.prepare digits-dvs` at a random time: seeds.
PREPARE_KILLS = {QUICK: [], LONG: list(range(6))}
# Kill prepare at a chosen point of the cache write: "pt" (inside the tensor file), "gap" (between tensor
# file and manifest, with an older cache of other parameters in place).
PREPARE_WRITE_KILLS = {QUICK: ["gap"], LONG: ["pt", "gap"]}

# ------------------------------------------------------------------ integrity (corrupted files)
RAW_KINDS = ("hdf5", "npy", "aedat4", "wav", "cifar-pickle")
OWN_KINDS = ("checkpoint", "prepared-pt", "manifest")
FILE_KINDS = RAW_KINDS + OWN_KINDS
# Per kind: truncation points (fractions of the size) and bit-flip seeds (each flips one random bit).
TRUNCATIONS = {QUICK: [0.5], LONG: [0.0, 0.1, 0.3, 0.7, 0.95]}
BIT_FLIPS = {QUICK: [0, 1], LONG: list(range(2, 22))}
ARCHIVE_ATTACKS = {
    QUICK: ["tar:../x", "tar:/abs", "tar:symlink-out", "tar:hardlink-out", "tar:chardev", "zip:../x"],
    LONG: ["tar:a/../../x", "tar:symlink-abs", "tar:blockdev", "tar:fifo", "zip:/abs", "zip:symlink"],
}
MANIFEST_MISMATCHES = {QUICK: ["params", "code_version"], LONG: ["source_checksums", "format_version",
                                                                   "tensor_sha256"]}

# ------------------------------------------------------------------ bad input
PARAMS_TYPOS = {
    QUICK: ["top", "run", "datasets.<id>", "datasets.<id>.train", "methods.asgl"],
    LONG: ["sweep", "datasets.<id>.prepare"],
}
BAD_VALUES = {QUICK: ["width=0", "width=-1", "p=-0.1", "p=1.5"], LONG: ["width=nan", "width=inf", "p=nan"]}
UNKNOWN_IDS = {QUICK: ["method", "dataset"], LONG: ["method-cli", "dataset-cli"]}
EMPTY_FOLDERS = {QUICK: ["shd"], LONG: ["dvs-gesture", "fsdd", "cifar10"]}
NON_FINITE = {QUICK: ["nan"], LONG: ["inf", "-inf"]}
FULL_DISK = {QUICK: ["checkpoint", "metrics", "prepared-pt", "manifest"], LONG: ["history", "tmpfs-checkpoint"]}

# ------------------------------------------------------------------ safe loading
MALICIOUS_PICKLES = {
    QUICK: ["checkpoint:os.system", "prepared:os.system", "cifar:os.system"],
    LONG: ["checkpoint:custom-class", "checkpoint:eval", "prepared:custom-class", "cifar:eval",
           "cifar:subprocess", "cifar:protocol0"],
}


def counts() -> list[tuple[str, str, int, int]]:
    """(group, fault, quick count, long count) for the report; long counts include quick ones."""

    def n(table: dict, weight=lambda item: 1) -> tuple[int, int]:
        q = sum(weight(i) for i in table[QUICK])
        return q, q + sum(weight(i) for i in table[LONG])

    rows = [
        ("interruption", "SIGKILL of a training run at a random time", *n(TRAIN_CHAINS, lambda c: c[2])),
        ("interruption", "SIGKILL inside the atomic checkpoint write",
         *(a + b for a, b in zip(n(CHECKPOINT_WRITE_KILLS), n(TRAIN_CHAINS, lambda c: int(c[3] > 0)),
                                 strict=True))),
        ("interruption", "SIGKILL of a download", *n(DOWNLOAD_KILLS)),
        ("interruption", "SIGKILL of `pipelines.stages.prepare` at a random time", *n(PREPARE_KILLS)),
        ("interruption", "SIGKILL of `pipelines.stages.prepare` inside the cache write", *n(PREPARE_WRITE_KILLS)),
    ]
    for kind in FILE_KINDS:
        rows.append(("integrity", f"{kind}: truncated", *n(TRUNCATIONS)))
        rows.append(("integrity", f"{kind}: one bit flipped", *n(BIT_FLIPS)))
    rows += [
        ("integrity", "unsafe archive member", *n(ARCHIVE_ATTACKS)),
        ("integrity", "prepared cache whose manifest does not match", *n(MANIFEST_MISMATCHES)),
        ("bad input", "unknown key in params.yaml", *n(PARAMS_TYPOS)),
        ("bad input", "width <= 0 or p outside [0, 1]", *n(BAD_VALUES)),
        ("bad input", "unknown method or dataset id", *n(UNKNOWN_IDS)),
        ("bad input", "empty dataset folder", *n(EMPTY_FOLDERS)),
        ("bad input", "non-finite loss", *n(NON_FINITE)),
        ("bad input", "full disk while writing", *n(FULL_DISK)),
        ("safe loading", "malicious pickle", *n(MALICIOUS_PICKLES)),
    ]
    return rows


def table() -> str:
    """The Markdown table of :func:`counts`, with totals."""
    lines = ["| group | fault | quick | long |", "|---|---|---:|---:|"]
    rows = counts()
    lines += [f"| {g} | {f} | {q} | {l} |" for g, f, q, l in rows]  # noqa: E741
    lines.append(f"| **total** | | **{sum(r[2] for r in rows)}** | **{sum(r[3] for r in rows)}** |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(table())
