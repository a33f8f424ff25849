"""``python -m pipelines.stages.prepare digits-dvs`` that pauses inside its cache write, for the parent to SIGKILL.

Usage: ``python -m tests.faults.prepare_script DATA_ROOT {pt,gap} [--set KEY=VALUE ...]``

``pt``: half of the tensor file is written to its temporary sibling, then ``paused`` is printed and the
process sleeps. ``gap``: the tensor file is in place and the manifest not yet written when it pauses.
"""

from __future__ import annotations

import io
import sys
import time

from asgl.data import cache
from pipelines.stages import prepare


def _pause() -> None:
    print("paused", flush=True)
    time.sleep(300)


def main(argv: list[str]) -> int:
    root, where, *rest = argv
    if where == "pt":
        real_save = cache.atomic_save

        def atomic_save(path, save):
            def half(handle):
                buf = io.BytesIO()
                save(buf)
                data = buf.getvalue()
                handle.write(data[: len(data) // 2])
                handle.flush()
                _pause()

            return real_save(path, half)

        cache.atomic_save = atomic_save
    elif where == "gap":
        real_write_json = cache.atomic_write_json

        def atomic_write_json(path, obj):
            _pause()
            return real_write_json(path, obj)

        cache.atomic_write_json = atomic_write_json
    else:
        raise SystemExit(f"unknown pause point {where!r}")
    return prepare.main(["digits-dvs", "--data-root", root, *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
