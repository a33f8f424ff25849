"""Dataset specs keyed by a stable id: where the raw files come from, what proves they are present, which
builder turns them into tensors and with which default parameters.

Checksums: ``md5``/``sha256`` of a remote are the publisher's own digests where the publisher lists them
(CIFAR, Tiny-ImageNet, Medley-solos-DB on Zenodo, the figshare copies of the DVS sets, SHD's ``md5sums.txt``);
a remote with neither is verified by trust on first use: its sha256 is recorded on the first download, next to
the data (``asgl.data.raw.FIRST_USE_FILE``), and every later use must match it.

The registry is static: it reads no files, so its content does not depend on the checkout. An id whose raw
files ship with the repository (``fsdd``, ``nmnist-small``; see :mod:`asgl.data.shipped`) is ``embedded`` (no
network) whether or not the archive is present; :mod:`asgl.data.raw` looks for the archive when fetching.

An entry with ``shares`` set is the same data under a second id (e.g. ``cifar10-t4``: CIFAR-10 run at
T = 4 beside ``cifar10`` at T = 2, as two rows of the tables). It reuses the shared entry's raw files and,
when prepared with the same options, a hard link to its prepared tensors; see :mod:`asgl.data.prepare`.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asgl.data.errors import UnknownDatasetError

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
GESTURE_CLASSES = ("hand_clapping", "right_hand_wave", "left_hand_wave", "right_arm_cw", "right_arm_ccw",
                   "left_arm_cw", "left_arm_ccw", "arm_roll", "air_drums", "air_guitar", "other_gestures")
MEDLEY_CLASSES = ("clarinet", "distorted electric guitar", "female singer", "flute", "piano",
                  "tenor saxophone", "trumpet", "violin")


@dataclass(frozen=True)
class RemoteFile:
    """One downloadable raw file. ``md5``/``sha256``: the publisher's digests; both None = none published
    (the sha256 is recorded on first download and checked afterwards)."""

    filename: str
    url: str
    md5: str | None = None
    sha256: str | None = None
    extract: bool = True
    extract_to: str = ""


@dataclass(frozen=True)
class DatasetSpec:
    """Static description of one dataset id."""

    id: str
    modality: str  # image | events | speech | instrument
    builder: str  # "module:function"; called as builder(raw_dir, params) -> Built
    defaults: dict[str, Any]
    synthetic: bool = False
    embedded: bool = False  # generated locally, no download
    remotes: tuple[RemoteFile, ...] = ()
    markers: tuple[str, ...] = ()  # globs under raw/<id>/ that all must match for the raw data to be present
    nested_archives: tuple[str, ...] = ()  # globs of archives found after extraction, extracted in place
    homepage: str = ""
    licence: str = ""
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    shares: str = ""  # id of the entry whose raw files (and, with equal options, prepared tensors) this reuses

    @property
    def expected_files(self) -> list[str]:
        return [r.filename for r in self.remotes] or list(self.markers)

    def load_builder(self) -> Callable[..., Any]:
        module, func = self.builder.split(":")
        return getattr(importlib.import_module(module), func)


_CIFAR_LICENCE = "no explicit licence (free for research use)"
_TORONTO = "https://www.cs.toronto.edu/~kriz/"
_ZENKE = "https://zenkelab.org/datasets/"
_FIGSHARE = "https://figshare.com/ndownloader/files/"
_ZENODO_MEDLEY = "https://zenodo.org/record/3464194/files/"


def _heidelberg(name: str, max_time: float, md5: dict[str, str | None]) -> DatasetSpec:
    """SHD or SSC: one ``{name}_{split}.h5.gz`` per split (the keys of ``md5``, in order, each with its
    publisher md5 or None) from the Zenke lab's host, binned into 100 steps over ``max_time`` seconds."""
    return DatasetSpec(
        name, "speech", "asgl.data.spike_audio:build_hsd",
        {"time_steps": 100, "max_time": max_time, "splits": ",".join(md5)},
        remotes=tuple(RemoteFile(f"{name}_{split}.h5.gz", f"{_ZENKE}{name}_{split}.h5.gz", md5=digest)
                      for split, digest in md5.items()),
        markers=tuple(f"{name}_{split}.h5" for split in md5),
        homepage="https://zenkelab.org/resources/spiking-heidelberg-datasets-shd/", licence="CC BY 4.0")

_SPECS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        "cifar10", "image", "asgl.data.images:build_cifar", {"variant": 10, "dtype": "float32"},
        remotes=(RemoteFile("cifar-10-python.tar.gz", _TORONTO + "cifar-10-python.tar.gz",
                            md5="c58f30108f718f92721af3b95e74349a"),),
        markers=("cifar-10-batches-py/data_batch_5", "cifar-10-batches-py/test_batch"),
        homepage="https://www.cs.toronto.edu/~kriz/cifar.html", licence=_CIFAR_LICENCE),
    DatasetSpec(
        "cifar100", "image", "asgl.data.images:build_cifar", {"variant": 100, "dtype": "float32"},
        remotes=(RemoteFile("cifar-100-python.tar.gz", _TORONTO + "cifar-100-python.tar.gz",
                            md5="eb9058c3a382ffc7106e4002c42a8d85"),),
        markers=("cifar-100-python/train", "cifar-100-python/test", "cifar-100-python/meta"),
        homepage="https://www.cs.toronto.edu/~kriz/cifar.html", licence=_CIFAR_LICENCE),
    DatasetSpec(
        "tiny-imagenet", "image", "asgl.data.images:build_tiny_imagenet", {"dtype": "float16"},
        remotes=(RemoteFile("tiny-imagenet-200.zip", "https://cs231n.stanford.edu/tiny-imagenet-200.zip",
                            md5="90528d7ca1a48142e341f4ef8d21d0de"),),
        markers=("tiny-imagenet-200/wnids.txt", "tiny-imagenet-200/val/val_annotations.txt"),
        homepage="https://www.kaggle.com/c/tiny-imagenet",
        licence="ImageNet terms (non-commercial research)"),
    DatasetSpec(
        "dvs-gesture", "events", "asgl.data.events:build_dvs_gesture",
        {"time_steps": 16, "size": 32, "max_count": 255},
        remotes=(RemoteFile("ibmGestureTrain.tar.gz", _FIGSHARE + "38022171",
                            md5="3a8f0d4120a166bac7591f77409cb105"),
                 RemoteFile("ibmGestureTest.tar.gz", _FIGSHARE + "38020584",
                            md5="56070e45dadaa85fff82e0fbfbc06de5")),
        markers=("ibmGestureTrain/*/*.npy", "ibmGestureTest/*/*.npy"),
        homepage="https://research.ibm.com/interactive/dvsgesture/", licence="CC BY 4.0",
        extra={"class_names": GESTURE_CLASSES}),
    DatasetSpec(
        "cifar10-dvs", "events", "asgl.data.events:build_cifar10_dvs",
        {"time_steps": 10, "size": 48, "test_fraction": 0.1, "seed": 0, "max_count": 255},
        remotes=(RemoteFile("CIFAR10DVS.zip", _FIGSHARE + "38023437",
                            md5="ce3a4a0682dc0943703bd8f749a7701c"),),
        markers=("**/*.aedat4",),
        nested_archives=tuple(f"**/{c}.zip" for c in CIFAR10_CLASSES),
        homepage="https://figshare.com/articles/dataset/CIFAR10-DVS_New/4724671", licence="CC BY 4.0",
        extra={"class_names": CIFAR10_CLASSES}),
    # md5 of SHD: the digests of the publisher's md5sums.txt (next to the files), as quoted by independent public
    # SHD loaders that fetch from the publisher's earlier host, compneuro.net; not re-read from that file here.
    # SSC's digests were not found offline: trust on first use.
    _heidelberg("shd", 1.4, {"train": "d47c9825dee33347913e8ce0f2be08b0", "test": "3062a80ec0c5719404d5b02e166543b1"}),
    _heidelberg("ssc", 1.0, {"train": None, "valid": None, "test": None}),
    DatasetSpec(
        "speech-commands", "speech", "asgl.data.speech:build_speech_commands",
        {"sample_rate": 16000, "clip_seconds": 1.0, "n_mels": 32, "time_steps": 32, "dtype": "float16"},
        remotes=(RemoteFile("speech_commands_v0.02.tar.gz",
                            "https://storage.googleapis.com/download.tensorflow.org/data/speech_commands_v0.02.tar.gz",
                            sha256="af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58"),),
        markers=("validation_list.txt", "testing_list.txt", "yes/*.wav"),
        homepage="https://www.tensorflow.org/datasets/catalog/speech_commands", licence="CC BY 4.0"),
    DatasetSpec(
        "fsdd", "speech", "asgl.data.speech:build_fsdd",
        {"sample_rate": 8000, "clip_seconds": 0.8, "n_mels": 32, "time_steps": 32, "dtype": "float32"},
        remotes=(RemoteFile("free-spoken-digit-dataset-1.0.10.zip",
                            "https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v1.0.10.zip"),),
        markers=("**/recordings/0_*_0.wav",),
        homepage="https://github.com/Jakobovski/free-spoken-digit-dataset", licence="CC BY-SA 4.0",
        # real speech shipped with the repository (datasets/fsdd/, asgl.data.shipped): no network needed
        embedded=True,
        extra={"class_names": tuple(str(d) for d in range(10))}),
    DatasetSpec(
        "fsdd-speakers", "speech", "asgl.data.speech:build_fsdd_speakers",
        {"sample_rate": 8000, "clip_seconds": 0.8, "n_mels": 32, "time_steps": 32, "dtype": "float32",
         "test_speakers": "theo,yweweler", "normalise": "train"},
        markers=("**/recordings/0_*_0.wav",), homepage="https://github.com/Jakobovski/free-spoken-digit-dataset",
        licence="CC BY-SA 4.0", embedded=True, shares="fsdd",
        notes="FSDD judged on speakers the model never heard (test = every recording of the test speakers)",
        extra={"class_names": tuple(str(d) for d in range(10))}),
    DatasetSpec(
        "nmnist-small", "events", "asgl.data.nmnist:build",
        {"time_steps": 3, "size": 34, "split": "stratified", "test_fraction": 0.25, "seed": 0},
        markers=("**/train1K.txt", "**/test100.txt"),
        homepage="https://www.garrickorchard.com/datasets/n-mnist", licence="CC BY-SA 4.0",
        # real event-camera data shipped with the repository (datasets/nmnist-small/): no network needed
        embedded=True, extra={"class_names": tuple(str(d) for d in range(10))}),
    DatasetSpec(
        "medley-solos-db", "instrument", "asgl.data.instruments:build_medley_solos",
        {"sample_rate": 22050, "clip_seconds": 2.97, "n_mels": 32, "time_steps": 32, "dtype": "float16"},
        remotes=(RemoteFile("Medley-solos-DB_metadata.csv",
                            _ZENODO_MEDLEY + "Medley-solos-DB_metadata.csv?download=1",
                            md5="fda6a589c56785f2195c9227809c521a", extract=False),
                 RemoteFile("Medley-solos-DB.tar.gz", _ZENODO_MEDLEY + "Medley-solos-DB.tar.gz?download=1",
                            md5="f5facf398793ef5c1f80c013afdf3e5f", extract_to="audio")),
        markers=("Medley-solos-DB_metadata.csv", "**/Medley-solos-DB_*.wav"),
        homepage="https://zenodo.org/record/3464194", licence="CC BY 4.0",
        extra={"class_names": MEDLEY_CLASSES}),
    DatasetSpec(
        "digits", "image", "asgl.data.embedded_digits:build", {"seed": 0, "test_fraction": 0.25},
        homepage="https://scikit-learn.org/stable/datasets/toy_dataset.html#digits-dataset",
        licence="BSD-3-Clause (scikit-learn); UCI optdigits CC BY 4.0", embedded=True),
    DatasetSpec(
        "digits-dvs", "events", "asgl.data.embedded_events:build",
        {"seed": 0, "size": 24, "time_steps": 16, "repeats": 1, "threshold": 0.2, "test_fraction": 0.25,
         "max_per_class": 0},
        synthetic=True, embedded=True),
    DatasetSpec(
        "synth-speech", "speech", "asgl.data.embedded_speech:build",
        {"seed": 0, "per_class": 160, "sample_rate": 8000, "clip_seconds": 0.8, "n_mels": 32,
         "time_steps": 32, "test_fraction": 0.25},
        synthetic=True, embedded=True),
    DatasetSpec(
        "synth-instruments", "instrument", "asgl.data.embedded_instruments:build",
        {"seed": 0, "per_class": 200, "sample_rate": 22050, "clip_seconds": 1.0, "n_mels": 32,
         "time_steps": 32, "test_fraction": 0.25},
        synthetic=True, embedded=True),
)



def _shared(base: DatasetSpec, dataset_id: str, notes: str) -> DatasetSpec:
    """A second id for ``base``'s data (same builder, defaults and remotes)."""
    return dataclasses.replace(base, id=dataset_id, shares=base.id, notes=notes)


_BY_ID = {spec.id: spec for spec in _SPECS}
_SPECS += (
    dataclasses.replace(_shared(_BY_ID["nmnist-small"], "nmnist-writers",
                                "N-MNIST's writer-disjoint check: train on the 1 000 training-writer recordings, "
                                "test on the 100 test-writer recordings"),
                        defaults={**_BY_ID["nmnist-small"].defaults, "split": "writers"}),
    _shared(_BY_ID["cifar10"], "cifar10-t4", "CIFAR-10 for a second time-step setting (the paper profile: T = 4)"),
    _shared(_BY_ID["cifar100"], "cifar100-t4", "CIFAR-100 for a second time-step setting (the paper profile: T = 4)"),
)
REGISTRY: dict[str, DatasetSpec] = {spec.id: spec for spec in _SPECS}
REAL_IDS = tuple(s.id for s in _SPECS if not s.embedded)
EMBEDDED_IDS = tuple(s.id for s in _SPECS if s.embedded)


def get_spec(dataset_id: str) -> DatasetSpec:
    """The spec of ``dataset_id``; :class:`UnknownDatasetError` (listing the known ids) otherwise."""
    try:
        return REGISTRY[dataset_id]
    except KeyError:
        raise UnknownDatasetError(dataset_id, list(REGISTRY)) from None


def is_embedded(dataset_id: str) -> bool:
    """True for the ids generated locally without any download."""
    return get_spec(dataset_id).embedded
