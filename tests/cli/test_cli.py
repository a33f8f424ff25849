"""``asgl-bench`` subcommands other than a full comparison: what they print, and one-line errors."""

from __future__ import annotations

import pytest

from pipelines.commands.cli import build_parser, main
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


def test_version_is_the_package_version(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"asgl-bench {version('asgl-bench')}"


@pytest.mark.parametrize("command", ["profile", "fetch", "prepare", "plan", "reproduce"])
def test_delegated_help_is_the_module_help_under_asgl_bench(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: asgl-bench {command} ") and "-h, --help" in out


def test_an_unknown_delegated_flag_is_refused(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["reproduce", "--no-such-flag"])
    assert stop.value.code == 2
    assert "--no-such-flag" in capsys.readouterr().err


@pytest.mark.parametrize("values, items", [
    (["a", "b"], ["a", "b"]), (["a,b"], ["a", "b"]), (["a,b", "c"], ["a", "b", "c"]), (None, None),
])
def test_list_items_either_way(values, items):
    from pipelines.commands.cli import split_items

    assert split_items(values) == items


def test_comma_lists_for_a_module_that_reads_one_value():
    from pipelines.commands.cli import join_lists

    argv = ["--datasets", "a", "b,c", "--steps", "1", "--methods", "sg", "--keep-going"]
    assert join_lists(argv, ("--datasets", "--methods")) == [
        "--datasets", "a,b,c", "--steps", "1", "--methods", "sg", "--keep-going"]


def test_compare_takes_seeds_either_way_and_refuses_a_non_integer(tmp_path, capsys):
    args = build_parser().parse_args(["compare", "sg", "--seeds", "0,1", "2", "--datasets", "digits,fsdd"])
    assert args.seeds == ["0,1", "2"] and args.datasets == ["digits,fsdd"]
    params = write_params(tmp_path)
    assert main(["compare", "sg", "--seeds", "0,x", "--params", str(params)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--seeds: 'x' is not an integer" in err


def test_a_stage_run_by_dvc_keeps_its_python_m_name(monkeypatch):
    from pipelines.lib.progname import program

    monkeypatch.setattr("sys.argv", ["/somewhere/pipelines/commands/plan.py", "--help"])
    assert program("pipelines.commands.plan") == "python -m pipelines.commands.plan"
    monkeypatch.setattr("sys.argv", ["asgl-bench plan", "--help"])
    assert program("pipelines.commands.plan") == "asgl-bench plan"


def test_plan_takes_a_space_separated_list_like_every_subcommand(capsys):
    assert main(["plan", "--profile", "paper", "--device", "cpu", "--datasets", "shd", "no-such-set"]) == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments" not in err and "'no-such-set'" in err and err.count("\n") == 1
