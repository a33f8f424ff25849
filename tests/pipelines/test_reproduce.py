"""The reproduction check: bit-identical reruns, runs within seed noise, and a shifted cell are told apart."""

import random

import pandas as pd

from pipelines import reproduce


def _runs(shift: dict[tuple[str, float], float] | None = None, noise: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for dataset in ("digits", "fsdd"):
        for method in ("asgl", "sg"):
            for width in (1.0, 10.0):
                for s, base in enumerate((90.0, 91.5, 89.0)):
                    acc = base + (shift or {}).get((method, width), 0.0) + rng.gauss(0.0, noise)
                    rows.append({"dataset": dataset, "method": method, "width_init": width, "seed": s,
                                 "accuracy": acc})
    return pd.DataFrame(rows)


def test_binomial_upper_by_hand():
    # Binomial(20, 0.05): P(X <= 2) = 0.925, P(X <= 3) = 0.984
    assert reproduce.binomial_upper(20) == 3
    assert reproduce.binomial_upper(1) == 0


def test_an_identical_rerun_is_bit_identical():
    runs = _runs()
    cells = reproduce.compare_runs(runs, runs)
    assert len(cells) == 8 and not any(c.differs for c in cells)
    assert reproduce.verdict(cells, reproduce.identical(runs, runs)).startswith("bit-identical")


def test_seed_noise_is_consistent_and_a_shifted_cell_is_named():
    reference = _runs()
    fresh = _runs(noise=0.3, seed=1)
    cells = reproduce.compare_runs(fresh, reference)
    assert not reproduce.identical(fresh, reference)
    assert reproduce.verdict(cells, False).startswith("consistent")
    broken = _runs(shift={("sg", 10.0): -25.0, ("sg", 1.0): -25.0}, noise=0.3, seed=1)
    cells = reproduce.compare_runs(broken, reference)
    differing = {(c.dataset, c.method, c.width) for c in cells if c.differs}
    assert {("digits", "sg", 10.0), ("fsdd", "sg", 10.0)} <= differing
    line = reproduce.verdict(cells, False)
    assert line.startswith("NOT consistent") and "of 8 cells" in line
    assert "sg" in reproduce.report(cells)


def test_main_compares_with_a_reference_file(tmp_path, monkeypatch, capsys):
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    shutil.copy(root / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    _runs().to_csv(tmp_path / "results" / "runs.csv", index=False)
    _runs().to_csv(tmp_path / "ref.csv", index=False)
    assert reproduce.main(["--reference", "ref.csv"]) == 0
    assert "bit-identical" in capsys.readouterr().out
    _runs(shift={("asgl", 1.0): 30.0, ("asgl", 10.0): 30.0}).to_csv(tmp_path / "ref.csv", index=False)
    assert reproduce.main(["--reference", "ref.csv"]) == 1
