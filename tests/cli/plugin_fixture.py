"""A tiny third-party plugin distribution written into a folder: one module plus its ``*.dist-info``.

The module registers ``rect-sg`` (our LIF with a fixed rectangle surrogate); the distribution announces it in
the entry-point group ``asgl_bench.methods``, as a package installed with pip would.
"""

from __future__ import annotations

from pathlib import Path

MODULE = "asgl_rect_plugin"
METHOD = "rect-sg"

SOURCE = '''"""Test plugin: the SG control with a rectangle surrogate."""
from asgl.methods import LIF_DEFAULTS, make_lif
from asgl.registry import MethodSpec, register_method
from asgl.spike import FixedSurrogateSpike


def make_neuron(params, channels=None):
    return make_lif(FixedSurrogateSpike(width=params["width"], primitive="rectangle"), params)


register_method(MethodSpec(name="rect-sg", display_name="Rectangle SG", family="surrogate",
                           make_neuron=make_neuron, defaults={"width": 1.0, **LIF_DEFAULTS}))
'''


def write_plugin(folder: Path) -> Path:
    """Write the module and ``asgl_rect_plugin-0.1.dist-info`` into ``folder``; return ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{MODULE}.py").write_text(SOURCE, encoding="utf-8")
    info = folder / f"{MODULE}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {MODULE}\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[asgl_bench.methods]\n{METHOD} = {MODULE}\n", encoding="utf-8")
    return folder
