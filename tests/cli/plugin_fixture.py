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


def write_distribution(folder: Path, dist: str, method: str, module: str, source: str) -> Path:
    """Write ``<module>.py`` (``source``) and ``<dist>-0.1.dist-info`` announcing ``method = module`` in the
    group ``asgl_bench.methods`` into ``folder``; return ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(source, encoding="utf-8")
    info = folder / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[asgl_bench.methods]\n{method} = {module}\n", encoding="utf-8")
    return folder


def write_plugin(folder: Path) -> Path:
    """Write the module and ``asgl_rect_plugin-0.1.dist-info`` into ``folder``; return ``folder``."""
    return write_distribution(folder, MODULE, METHOD, MODULE, SOURCE)
