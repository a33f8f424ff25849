"""Each real loader on small files written in the real on-disk format, all the way through prepare."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import pickle
import uuid
import zipfile

import numpy as np
import pytest
import torch

from asgl.data import load_prepared, prepare_dataset, registry
from asgl.data.aedat4 import read_aedat4
from asgl.data.errors import CorruptFileError
from asgl.data.raw import FIRST_USE_FILE
from asgl.data.registry import CIFAR10_CLASSES, RemoteFile

from .formats import (
    random_events,
    tar_gz,
    write_aedat4,
    write_cifar10,
    write_cifar_batch,
    write_hsd_h5,
    write_tone,
)


def test_cifar10_through_archive_download(tmp_path, rng, http_server, override_spec):
    url, files, _ = http_server
    src = tmp_path / "src"
    write_cifar10(src, rng)
    archive = tar_gz(src / "cifar-10-batches-py", tmp_path / "c.tar.gz", "cifar-10-batches-py")
    files["/cifar-10-python.tar.gz"] = archive.read_bytes()
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    override_spec("cifar10", remotes=(RemoteFile("cifar-10-python.tar.gz", url + "/cifar-10-python.tar.gz", md5=md5),))
    root = tmp_path / "root"
    prepare_dataset("cifar10", root)
    d = load_prepared(root, "cifar10")
    assert d.train_x.shape == (60, 3, 32, 32) and d.test_x.shape == (12, 3, 32, 32)
    assert d.train_x.dtype == torch.float32
    assert d.manifest["normalisation"] == {"mean": [0.4914, 0.4822, 0.4465], "std": [0.2023, 0.1994, 0.2010]}
    assert d.manifest["class_names"][0] == "airplane" and d.manifest["modality"] == "image"
    src_sum = d.manifest["source_checksums"]["cifar-10-python.tar.gz"]
    assert src_sum["published"] == md5 and src_sum["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()


def test_cifar100_fine_labels(tmp_path, rng):
    folder = tmp_path / "raw/cifar100/cifar-100-python"
    labels = write_cifar_batch(folder / "train", rng, 30, b"fine_labels", 100)
    write_cifar_batch(folder / "test", rng, 10, b"fine_labels", 100)
    names = [f"c{i}".encode() for i in range(100)]
    (folder / "meta").write_bytes(pickle.dumps({b"fine_label_names": names, b"coarse_label_names": []}, 2))
    prepare_dataset("cifar100", tmp_path)
    d = load_prepared(tmp_path, "cifar100")
    assert d.train_y.tolist() == labels.tolist() and d.num_classes == 100


def test_tiny_imagenet_layout(tmp_path, rng):
    from torchvision.io import encode_jpeg

    root = tmp_path / "raw/tiny-imagenet/tiny-imagenet-200"
    wnids = ["n01443537", "n01629819"]
    (root / "val/images").mkdir(parents=True)
    (root / "wnids.txt").write_text("\n".join(wnids) + "\n")
    (root / "words.txt").write_text("n01443537\tgoldfish, Carassius auratus\nn01629819\tEuropean fire salamander\n")
    ann = []
    for c, w in enumerate(wnids):
        (root / "train" / w / "images").mkdir(parents=True)
        for i in range(3):
            img = torch.from_numpy(rng.integers(0, 256, (3, 64, 64), dtype=np.uint8))
            (root / "train" / w / "images" / f"{w}_{i}.JPEG").write_bytes(encode_jpeg(img).numpy().tobytes())
            name = f"val_{c * 3 + i}.JPEG"
            (root / "val/images" / name).write_bytes(encode_jpeg(img).numpy().tobytes())
            ann.append(f"{name}\t{w}\t0\t0\t63\t63")
    (root / "val/val_annotations.txt").write_text("\n".join(ann) + "\n")
    prepare_dataset("tiny-imagenet", tmp_path)
    d = load_prepared(tmp_path, "tiny-imagenet")
    assert d.train_x.shape == (6, 3, 64, 64) and d.train_x.dtype == torch.float16
    assert d.test_y.tolist() == [0, 0, 0, 1, 1, 1] and d.manifest["class_names"][0] == "n01443537:goldfish"


def test_dvs_gesture_npy_layout(tmp_path, rng):
    for split, users in (("ibmGestureTrain", ["user01_fluorescent", "user02_led"]), ("ibmGestureTest", ["user24_led"])):
        for user in users:
            for cls in range(11):
                ev = random_events(rng, 300)
                arr = np.stack([ev["x"], ev["y"], ev["p"], ev["t"] / 1000.0], axis=1)  # t in ms
                path = tmp_path / "raw/dvs-gesture" / split / user / f"{cls}.npy"
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, arr)
    prepare_dataset("dvs-gesture", tmp_path, time_steps=4, size=32)
    d = load_prepared(tmp_path, "dvs-gesture")
    assert d.train_x.shape == (22, 4, 2, 32, 32) and d.train_x.dtype == torch.uint8
    assert d.test_x.shape[0] == 11 and sorted(d.test_y.tolist()) == list(range(11))
    # tonic ToFrame(n_time_bins) bins [t0, t_last) so the very last event can fall out; nothing else does
    assert 299 <= int(d.train_x[0].sum()) <= 300


def test_aedat4_roundtrip_lz4_and_uncompressed(tmp_path, rng):
    ev = random_events(rng, 1234)
    for compression in (0, 1):
        path = tmp_path / f"r{compression}.aedat4"
        write_aedat4(path, ev, compression=compression, with_table=bool(compression))
        got, size = read_aedat4(path)
        assert size == (128, 128)
        assert np.array_equal(got["x"], ev["x"]) and np.array_equal(got["p"], ev["p"])
        assert np.array_equal(got["t"], ev["t"] - ev["t"].min())


def test_cifar10_dvs_per_class_zips(tmp_path, rng):
    raw = tmp_path / "raw/cifar10-dvs"
    staging = tmp_path / "staging"
    for cls in CIFAR10_CLASSES:
        for i in range(10):
            write_aedat4(staging / cls / f"cifar10_{cls}_{i}.aedat4", random_events(rng, 200))
        raw.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(raw / f"{cls}.zip", "w") as zf:
            for f in sorted((staging / cls).iterdir()):
                zf.write(f, f"{cls}/{f.name}")
    # the user supplies the per-class archives only: markers absent → bundle needed; put them inside it
    with zipfile.ZipFile(raw / "CIFAR10DVS.zip", "w") as zf:
        for cls in CIFAR10_CLASSES:
            zf.write(raw / f"{cls}.zip", f"{cls}.zip")
            (raw / f"{cls}.zip").unlink()
    from asgl.data import registry

    spec = registry.REGISTRY["cifar10-dvs"]
    md5 = hashlib.md5((raw / "CIFAR10DVS.zip").read_bytes()).hexdigest()
    registry.REGISTRY["cifar10-dvs"] = spec.__class__(**{**spec.__dict__, "remotes": (
        RemoteFile("CIFAR10DVS.zip", "http://127.0.0.1:9/unused", md5=md5),)})
    try:
        prepare_dataset("cifar10-dvs", tmp_path)
    finally:
        registry.REGISTRY["cifar10-dvs"] = spec
    d = load_prepared(tmp_path, "cifar10-dvs")
    assert d.train_x.shape == (90, 10, 2, 48, 48) and d.test_x.shape == (10, 10, 2, 48, 48)
    assert sorted(d.test_y.tolist()) == list(range(10))  # stratified 9:1
    assert len(d.manifest["split"]["test_files"]) == 10 and d.manifest["split"]["seed"] == 0


def test_corrupt_aedat4_is_named(tmp_path, rng):
    path = tmp_path / "x.aedat4"
    write_aedat4(path, random_events(rng, 2000))
    path.write_bytes(path.read_bytes()[:-500])
    with pytest.raises(CorruptFileError, match=r"x\.aedat4"):
        read_aedat4(path)


@pytest.mark.parametrize("dataset_id,splits", [("shd", ["train", "test"]), ("ssc", ["train", "valid", "test"])])
def test_hsd_gzipped_hdf5(tmp_path, rng, dataset_id, splits, override_spec):
    raw = tmp_path / "raw" / dataset_id
    raw.mkdir(parents=True)
    n_classes = 20 if dataset_id == "shd" else 35
    keys = [f"word{i}" for i in range(n_classes)]
    labels = {s: write_hsd_h5(raw / f"{dataset_id}_{s}.h5.gz", rng, 40, n_classes, keys) for s in splits}
    remotes = registry.REGISTRY[dataset_id].remotes
    if dataset_id == "shd":  # SHD has published md5s: stand in the generated files' digests for them
        remotes = tuple(dataclasses.replace(r, md5=hashlib.md5((raw / r.filename).read_bytes()).hexdigest())
                        for r in remotes)
    override_spec(dataset_id, remotes=remotes)
    prepare_dataset(dataset_id, tmp_path, time_steps=20)
    d = load_prepared(tmp_path, dataset_id)
    assert d.train_x.shape == (40, 20, 700) and d.train_x.dtype == torch.uint8
    assert d.train_y.tolist() == labels["train"].tolist() and d.manifest["class_names"] == keys
    assert (d.val_x is not None) == (dataset_id == "ssc")
    assert set(d.manifest["source_checksums"]) == {f"{dataset_id}_{s}.h5.gz" for s in splits}
    published = d.manifest["source_checksums"][f"{dataset_id}_train.h5.gz"]["published"]
    assert (published is not None) == (dataset_id == "shd")
    assert (raw / FIRST_USE_FILE).exists() == (dataset_id == "ssc")  # unpublished: digest recorded on first use


def test_speech_commands_layout(tmp_path, rng):
    raw = tmp_path / "raw/speech-commands"
    words = ["no", "yes", "zero"]
    val, test = [], []
    for w_i, word in enumerate(words):
        for i in range(6):
            name = f"{word}/{uuid.UUID(int=i).hex[:8]}_nohash_{i}.wav"
            write_tone(raw / name, 16000, 1.0, 300 + 300 * w_i, rng)
            (val if i == 4 else test if i == 5 else []).append(name)
    write_tone(raw / "_background_noise_/white.wav", 16000, 2.0, 50, rng)
    (raw / "validation_list.txt").write_text("\n".join(val) + "\n")
    (raw / "testing_list.txt").write_text("\n".join(test) + "\n")
    prepare_dataset("speech-commands", tmp_path)
    d = load_prepared(tmp_path, "speech-commands")
    assert d.train_x.shape == (12, 32, 32) and d.val_x.shape == (3, 32, 32) and d.test_x.shape == (3, 32, 32)
    assert d.manifest["class_names"] == words and d.train_x.dtype == torch.float16


def test_fsdd_names_and_split(tmp_path, rng):
    rec = tmp_path / "raw/fsdd/free-spoken-digit-dataset-1.0.10/recordings"
    for digit in range(10):
        for speaker in ("jackson", "theo"):
            for index in (0, 4, 5, 49):
                write_tone(rec / f"{digit}_{speaker}_{index}.wav", 8000, 0.4, 200 + 90 * digit, rng)
    prepare_dataset("fsdd", tmp_path)
    d = load_prepared(tmp_path, "fsdd")
    assert d.test_x.shape == (40, 32, 32) and d.train_x.shape == (40, 32, 32)
    assert d.manifest["speakers"] == ["jackson", "theo"]


def test_medley_solos_db_layout(tmp_path, rng):
    raw = tmp_path / "raw/medley-solos-db"
    rows = []
    for subset in ("training", "validation", "test"):
        for inst in range(8):
            uid = str(uuid.UUID(int=int(rng.integers(1 << 62))))
            rows.append({"subset": subset, "instrument": f"i{inst}", "instrument_id": inst, "song_id": 1, "uuid4": uid})
            write_tone(raw / "audio" / f"Medley-solos-DB_{subset}-{inst}_{uid}.wav", 22050, 0.5, 220 * (inst + 1), rng)
    with open(raw / "Medley-solos-DB_metadata.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, ["subset", "instrument", "instrument_id", "song_id", "uuid4"])
        writer.writeheader()
        writer.writerows(rows)
    prepare_dataset("medley-solos-db", tmp_path)
    d = load_prepared(tmp_path, "medley-solos-db")
    assert d.train_x.shape == (8, 32, 32) and d.val_x.shape == (8, 32, 32) and d.test_y.tolist() == list(range(8))
    assert d.manifest["modality"] == "instrument" and d.manifest["synthetic"] is False
