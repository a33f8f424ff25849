"""Fetch the raw files of one dataset into ``<data_root>/raw/<id>/``.

Usage: ``python -m pipelines.fetch <id> [--data-root DIR]``. Files already there are verified, not
downloaded again; embedded ids need nothing.
"""

from __future__ import annotations

from pathlib import Path

from asgl.data import fetch_dataset, get_spec
from asgl.io import atomic_write_json
from pipelines._data_cli import parser, run_cli


def fetch(dataset_id: str, data_root: str | Path) -> str:
    """Make the raw files of ``dataset_id`` present; return a one-line status message."""
    spec = get_spec(dataset_id)
    if spec.embedded:
        # The folder is this stage's DVC output for every dataset; for an embedded one it only says so.
        atomic_write_json(Path(data_root) / "raw" / dataset_id / "SOURCE.json",
                          {"dataset_id": dataset_id, "source": "generated locally by `prepare` (embedded)"})
        return f"{dataset_id}: embedded dataset, generated locally — nothing to fetch"
    folder = fetch_dataset(dataset_id, data_root)
    return f"{dataset_id}: raw files ready in {folder}"


def main(argv: list[str] | None = None) -> int:
    args = parser("python -m pipelines.fetch", __doc__.splitlines()[0]).parse_args(argv)
    return run_cli(lambda: fetch(args.dataset_id, args.data_root))


if __name__ == "__main__":
    raise SystemExit(main())
