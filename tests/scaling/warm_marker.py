"""A module that notes each import: its process id and the time, one line each, appended to the file named
by ``ASGL_TEST_WARM_MARKER`` (when set). The local pool's tests warm it up to see when workers import it."""

import os
import time

if os.environ.get("ASGL_TEST_WARM_MARKER"):
    with open(os.environ["ASGL_TEST_WARM_MARKER"], "a", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()} {time.time()}\n")
