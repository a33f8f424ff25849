"""Fetch the raw files of one dataset into ``<data_root>/raw/<id>/``.

Usage: ``python -m pipelines.stages.fetch <id> [--data-root DIR] [--download]``. Files already there are verified,
not downloaded again; generated embedded ids need nothing. A dataset shipped with the repository (``fsdd``,
``nmnist-small``) is unpacked from its verified archive under ``datasets/``; ``--download`` fetches its upstream
release instead (``fsdd`` only: ``nmnist-small`` has no download).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from asgl.data import DataError, fetch_dataset, get_spec
from asgl.data.raw import ensure_raw
from asgl.data.shipped import SHIPPED, is_shipped
from asgl.io import atomic_write_json
from pipelines.lib.data_cli import parser, run_cli
from pipelines.lib.progname import program


def fetch(dataset_id: str, data_root: str | Path, *, download: bool = False) -> str:
    """Make the raw files of ``dataset_id`` present; return a one-line status message.

    ``download``: for a shipped dataset, take the upstream release (the spec's remotes) instead of the
    shipped archive; the prepared data is the same either way.
    """
    spec = get_spec(dataset_id)
    source = get_spec(spec.shares) if spec.shares else spec
    if spec.embedded and source.id in SHIPPED:
        if download and source.remotes:  # the same spec without the shipped source: its remotes only
            folder = ensure_raw(dataclasses.replace(source, embedded=False), data_root)
            return f"{dataset_id}: upstream raw files ready in {folder}"
        if download:
            raise DataError(f"{dataset_id}: --download: this dataset ships with the repository only "
                            f"({SHIPPED[source.id].path}); fetch it without --download")
        if is_shipped(source.id) or not source.remotes:
            folder = fetch_dataset(dataset_id, data_root)
            return f"{dataset_id}: shipped raw files (sha256 verified) ready in {folder}"
        return f"{dataset_id}: raw files ready in {fetch_dataset(dataset_id, data_root)}"
    if download and spec.embedded:
        raise DataError(f"{dataset_id}: --download: this dataset is generated locally and has no upstream files")
    if spec.embedded:
        # The folder is this stage's DVC output for every dataset; for an embedded one it only says so.
        atomic_write_json(Path(data_root) / "raw" / dataset_id / "SOURCE.json",
                          {"dataset_id": dataset_id, "source": "generated locally by `prepare` (embedded)"})
        return f"{dataset_id}: embedded dataset, generated locally — nothing to fetch"
    folder = fetch_dataset(dataset_id, data_root)
    return f"{dataset_id}: raw files ready in {folder}"


def main(argv: list[str] | None = None) -> int:
    p = parser(program("pipelines.stages.fetch"), __doc__.splitlines()[0])
    p.add_argument("--download", action="store_true",
                   help="for a dataset shipped with the repository, download its upstream release instead")
    args = p.parse_args(argv)
    return run_cli(lambda: fetch(args.dataset_id, args.data_root, download=args.download))


if __name__ == "__main__":
    raise SystemExit(main())
