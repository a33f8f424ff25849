"""The worked example of docs/methods.md (and of README.md, once it carries it) runs as documented.

The blocks of the example: the plugin file (a ```python block starting with ``# my_dspike.py``), the
``asgl-bench`` command lines (```sh), and the entry-point table (```toml). The file is written and imported
by path as ``asgl-bench compare my_dspike.py`` does; the method it registers is built and its surrogate
checked; every documented command is parsed by the real ``asgl-bench`` parser.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest
import torch

from asgl import registry
from pipelines.cli import build_parser, resolve_method
from pipelines.identity import REPO_ROOT

FILE_MARK = "# my_dspike.py"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def example_blocks(path: Path) -> dict[str, list[str]]:
    """``{"file": [...], "sh": [...], "toml": [...]}``: the example's blocks in ``path``."""
    out: dict[str, list[str]] = {"file": [], "sh": [], "toml": []}
    for lang, body in BLOCK.findall(path.read_text(encoding="utf-8")):
        if lang == "python" and body.startswith(FILE_MARK):
            out["file"].append(body)
        elif lang == "sh" and "asgl-bench" in body:
            out["sh"].append(body)
        elif lang == "toml" and "asgl_bench.methods" in body:
            out["toml"].append(body)
    return out


def check_example(blocks: dict[str, list[str]], tmp_path: Path) -> None:
    (source,) = blocks["file"]
    plugin = tmp_path / "my_dspike.py"
    plugin.write_text(source, encoding="utf-8")
    try:
        name, resolved = resolve_method(str(plugin), {"run": {"methods": {}}})
        assert name == "my-dspike" and Path(resolved) == plugin.resolve()
        neuron = registry.get_method(name).build_neuron()
        u = torch.tensor([[[-0.8, -0.3, 0.0, 0.4]]], requires_grad=True)  # [T=1, B=1, 4], threshold 1
        out = neuron(u + 1.0)
        torch.testing.assert_close(out.detach(), torch.tensor([[[0.0, 0.0, 1.0, 1.0]]]))
        out.sum().backward()
        b = 3.0
        expected = (u.detach().abs() <= 0.5) * b * (1 - torch.tanh(b * u.detach()) ** 2) / (2 * torch.tanh(
            torch.tensor(b / 2)))
        torch.testing.assert_close(u.grad, expected)
    finally:
        registry._METHODS.pop("my-dspike", None)
    commands = [line for body in blocks["sh"] for line in body.splitlines() if line.startswith("asgl-bench ")]
    assert commands, "the example shows how to run the comparison"
    for line in commands:
        args = build_parser().parse_args(shlex.split(line)[1:])
        assert args.command == "compare" and args.method in ("my_dspike.py", "my-dspike")
    (table,) = blocks["toml"]
    entry = tomllib.loads(table)["project"]["entry-points"][registry.ENTRY_POINT_GROUP]
    assert entry == {"my-dspike": "my_dspike"}, "the entry point's name is the method's, its value the module"


def test_docs_methods_example(tmp_path):
    check_example(example_blocks(REPO_ROOT / "docs" / "methods.md"), tmp_path)


def test_readme_example_is_the_same_and_runs(tmp_path):
    readme = example_blocks(REPO_ROOT / "README.md")
    if not readme["file"]:
        pytest.skip("README.md does not carry the worked example yet (the block starting with '# my_dspike.py')")
    assert readme == example_blocks(REPO_ROOT / "docs" / "methods.md"), "README and docs/methods.md differ"
    check_example(readme, tmp_path)
