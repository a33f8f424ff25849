"""The worked example ``examples/my_dspike.py`` runs as documented, and is printed nowhere else.

The file is imported by path as ``asgl-bench compare examples/my_dspike.py`` does; the method it registers is
built and its surrogate checked against Dspike's formula. ``docs/methods.md`` shows the command lines
(```sh) and the entry-point table (```toml): every command line is parsed by the real ``asgl-bench`` parser
and the table is read as TOML. README.md and docs/methods.md link the file instead of printing it.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import torch

from asgl import registry
from pipelines.commands.cli import build_parser, resolve_method
from pipelines.lib.identity import REPO_ROOT

EXAMPLE = "examples/my_dspike.py"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def blocks(path: Path, lang: str) -> list[str]:
    """The bodies of the fenced blocks of language ``lang`` in ``path``."""
    return [body for found, body in BLOCK.findall(path.read_text(encoding="utf-8")) if found == lang]


def test_the_example_file_registers_a_working_dspike():
    try:
        name, source = resolve_method(str(REPO_ROOT / EXAMPLE), {"run": {"methods": {}}})
        assert name == "my-dspike" and source == EXAMPLE
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


def test_documented_compare_lines_parse_and_name_the_example():
    methods = REPO_ROOT / "docs" / "methods.md"
    lines = [line.split("#")[0].strip() for body in blocks(methods, "sh") for line in body.splitlines()]
    lines = [line for line in lines if line.startswith("asgl-bench compare ")]
    assert any(EXAMPLE in line for line in lines), "docs/methods.md shows how to compare the example"
    for line in lines:
        args = build_parser().parse_args(shlex.split(line)[1:])
        assert args.command == "compare"


def test_documented_entry_point_names_the_method_and_its_module():
    (table,) = [body for body in blocks(REPO_ROOT / "docs" / "methods.md", "toml") if "asgl_bench.methods" in body]
    entry = tomllib.loads(table)["project"]["entry-points"][registry.ENTRY_POINT_GROUP]
    assert entry == {"my-dspike": "my_dspike"}, "the entry point's name is the method's, its value the module"


def test_readme_and_methods_page_link_the_example_instead_of_printing_it():
    code = (REPO_ROOT / EXAMPLE).read_text(encoding="utf-8")
    signature = "class DspikeFixed(SpikeFunction)"
    assert signature in code
    for page in ("README.md", "docs/methods.md"):
        text = (REPO_ROOT / page).read_text(encoding="utf-8")
        assert f"]({'' if page == 'README.md' else '../'}{EXAMPLE})" in text, f"{page} links {EXAMPLE}"
        assert signature not in text, f"{page} prints the example; link {EXAMPLE} instead"
