"""``asgl-bench`` subcommands other than a full comparison: what they print, and one-line errors."""

from __future__ import annotations

import pytest

from pipelines.cli import build_parser, main
from tests.cli.test_compare_plugin import write_params


def test_methods_lists_each_method_with_its_source_and_section(capsys):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    assert "dspike  (Dspike; family surrogate)  source: baselines/dspike.py" in out
    assert "methods.sg: {width: 1.0" in out
    assert "requires: snntorch==1.0.0" in out


def test_table_prints_the_markdown_tables(tmp_path, capsys):
    (tmp_path / "main.md").write_text("| a | b |\n|---|---|\n| 1 | 2 |\n", encoding="utf-8")
    assert main(["table", "--tables", str(tmp_path)]) == 0
    assert "## main" in capsys.readouterr().out
    assert main(["table", "--tables", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no tables" in err and err.count("\n") == 1


@pytest.mark.parametrize("argv, words", [
    (["compare", "no-such-method"], "unknown method 'no-such-method'"),
    (["compare", "missing_file.py"], "missing_file.py: no such file"),
], ids=["unknown-name", "missing-file"])
def test_compare_errors_are_one_line(argv, words, capsys, tmp_path):
    params = write_params(tmp_path)
    assert main([*argv, "--params", str(params)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and words in err


def test_compare_help_teaches_the_three_ways_to_name_a_method(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["compare", "--help"])
    out = capsys.readouterr().out
    assert "an installed plugin" in out and "asgl-bench compare my_method.py" in out and "--epochs" in out


def test_export_of_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["export", str(tmp_path), str(tmp_path / "m.nir")]) == 2
    err = capsys.readouterr().err
    assert "config.json: missing" in err and err.count("\n") == 1
