"""``fsdd-speakers``: FSDD with whole speakers held out — split, class balance, options, offline prepare."""

from __future__ import annotations

import dataclasses
import io
import tarfile

import numpy as np
import pytest
import torch

from asgl.data import DataError, load_prepared, prepare_dataset, registry, shipped
from asgl.data.download import file_digest
from asgl.data.speech import fsdd_recordings, fsdd_speaker_split, utterance_normalise

ENTRY = shipped.SHIPPED["fsdd"]
SUBSET = [f"recordings/{d}_{s}_{i}.wav" for d in range(10) for s in ("george", "theo") for i in (0, 7)]


def _names() -> list[str]:
    with tarfile.open(ENTRY.location()) as tar:
        return [m.name for m in tar.getmembers() if m.isfile()]


@pytest.fixture()
def shipped_subset(tmp_path, monkeypatch):
    wanted, found = set(SUBSET), {}
    with tarfile.open(ENTRY.location(), "r|gz") as tar:
        for member in tar:
            if member.name in wanted:
                found[member.name] = tar.extractfile(member).read()
    archive = tmp_path / "fsdd-subset.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in SUBSET:
            info = tarfile.TarInfo(name)
            info.size = len(found[name])
            tar.addfile(info, io.BytesIO(found[name]))
    monkeypatch.setitem(shipped.SHIPPED, "fsdd", dataclasses.replace(ENTRY, path=str(archive),
                                                                     sha256=file_digest(archive)))


def test_held_out_speakers_are_never_in_training_and_every_digit_is_balanced(tmp_path):
    for name in _names():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).touch()
    items = fsdd_recordings(tmp_path)
    test_speakers = registry.get_spec("fsdd-speakers").defaults["test_speakers"].split(",")
    split = fsdd_speaker_split(items, test_speakers)
    speaker = {p: s for p, _, s, _ in items}
    assert {speaker[p] for p in split["test"][0]} == set(test_speakers)
    assert not {speaker[p] for p in split["train"][0]} & set(test_speakers)
    assert len(split["train"][0]) == 2000 and len(split["test"][0]) == 1000
    assert np.bincount(split["test"][1]).tolist() == [100] * 10
    assert np.bincount(split["train"][1]).tolist() == [200] * 10


@pytest.mark.parametrize("speakers", [[], ["nobody"], ["george", "theo"]])
def test_a_bad_speaker_list_is_named(tmp_path, speakers):
    items = [(tmp_path / "0_george_0.wav", 0, "george", 0), (tmp_path / "1_theo_0.wav", 1, "theo", 0)]
    with pytest.raises(DataError, match="test_speakers="):
        fsdd_speaker_split(items, speakers)


def test_utterance_normalisation_centres_and_scales_each_utterance():
    x = torch.randn(5, 24, 32) * torch.arange(1, 6).view(5, 1, 1) + torch.arange(5).view(5, 1, 1)
    y = utterance_normalise(x)
    assert torch.allclose(y.mean(dim=(1, 2)), torch.zeros(5), atol=1e-5)
    assert torch.allclose(y.std(dim=(1, 2)), torch.ones(5), atol=1e-5)
    assert torch.allclose(utterance_normalise(3 * x + 7), y, atol=1e-4)  # level and gain do not matter


def test_prepare_offline_splits_by_speaker(tmp_path, shipped_subset):
    prepare_dataset("fsdd-speakers", tmp_path, allow_download=False, time_steps=24, test_speakers="theo")
    d = load_prepared(tmp_path, "fsdd-speakers")
    assert d.train_x.shape == (20, 24, 32) and d.test_x.shape == (20, 24, 32)
    assert d.manifest["test_speakers"] == ["theo"] and d.manifest["train_speakers"] == ["george"]
    assert d.manifest["synthetic"] is False and not (tmp_path / "prepared" / "fsdd.pt").exists()
    with pytest.raises(DataError, match="normalise='none'"):
        prepare_dataset("fsdd-speakers", tmp_path, time_steps=24, test_speakers="theo", normalise="none")
