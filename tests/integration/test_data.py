"""Data: the real MNIST byte for byte, safe unpickling, and clear errors for missing or corrupt files."""
from __future__ import annotations

import gzip
import io
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from lth_utils import data
from lth_utils.foundations.files import file_digest

from conftest import cifar_batch


def test_mnist_files_match_the_canonical_md5s(data_root):
    folder = data_root / "MNIST" / "raw"
    for name, md5 in data.MNIST_MD5.items():
        assert file_digest(folder / name) == md5


def test_splits_are_55k_train_5k_validation_10k_test(data_root):
    splits = data.load_splits("mnist", data_root)
    assert [len(y) for _, y in (splits.train, splits.val, splits.test)] == [55_000, 5_000, 10_000]
    assert splits.input_shape == (1, 28, 28) and splits.num_classes == 10


def test_the_dataset_facts_a_config_check_uses_are_those_of_the_loaded_splits(data_root):
    assert set(data.FACTS) == set(data.DATASETS)  # every dataset has its facts
    splits, facts = data.load_splits("mnist", root=data_root), data.FACTS["mnist"]  # the fixture fetches MNIST
    assert splits.input_shape == facts.input_shape and splits.num_classes == facts.num_classes
    assert len(splits.train[1]) + len(splits.val[1]) == facts.train_size


def test_validation_is_the_last_5000_training_images(data_root):
    labels = data.read_idx(data_root / "MNIST/raw/train-labels-idx1-ubyte")
    splits = data.load_splits("mnist", data_root)
    assert torch.equal(splits.val[1], torch.from_numpy(labels[-5000:].astype(np.int64)))
    assert torch.equal(splits.train[1], torch.from_numpy(labels[:55_000].astype(np.int64)))


def test_train_subset_keeps_the_first_images_and_the_whole_validation_set(data_root):
    splits = data.load_splits("mnist", data_root, train_subset=600)
    assert len(splits.train[1]) == 600 and len(splits.val[1]) == 5000


def test_splits_have_the_same_bits_whatever_the_thread_count(data_root):
    # the standardisation's mean and std are reductions, whose bits depend on the thread count; pool workers load on
    # one thread, a notebook on all cores: both must see the same pixels
    raw = data.load_arrays("mnist", data_root)
    before = torch.get_num_threads()
    try:
        loaded = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            loaded.append(data.make_splits(*raw))
            assert torch.get_num_threads() == threads  # restored
    finally:
        torch.set_num_threads(before)
    assert all(torch.equal(getattr(loaded[0], s)[0], getattr(loaded[1], s)[0]) for s in ("train", "val", "test"))


class _Exploit:
    def __reduce__(self):
        return (shutil.rmtree, ("/definitely/not/here",))


def test_restricted_unpickler_refuses_a_pickle_that_calls_a_function():
    payload = pickle.dumps(_Exploit())
    with pytest.raises(pickle.UnpicklingError, match="shutil.rmtree"):
        data.NumpyArrayUnpickler(io.BytesIO(payload)).load()


def test_restricted_unpickler_loads_numpy_arrays():
    arrays = (np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], dtype=np.int64))
    loaded = data.NumpyArrayUnpickler(io.BytesIO(pickle.dumps(arrays, protocol=2))).load()
    assert all(np.array_equal(a, b) for a, b in zip(arrays, loaded))


def test_pickle_conversion_scales_by_256_not_255():
    images = np.tile(np.array([[0.0, 1 / 256, 255 / 256]], dtype=np.float32), (1, 262))[:, :784]
    labels = np.array([7], dtype=np.int64)
    blob = gzip.compress(pickle.dumps(((images, labels), (images, labels), (images, labels)), protocol=2))
    arrays = data.mnist_from_pickle(blob)
    assert arrays["train-images-idx3-ubyte"].shape == (2, 28, 28)
    assert arrays["t10k-images-idx3-ubyte"].ravel()[:3].tolist() == [0, 1, 255]


def _copy_mnist(data_root, tmp_path):
    shutil.copytree(data_root / "MNIST", tmp_path / "MNIST")
    return tmp_path


def test_corrupt_data_file_error_names_file_checksum_and_fetch_command(data_root, tmp_path):
    root = _copy_mnist(data_root, tmp_path)
    path = root / "MNIST/raw/t10k-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-10])  # truncated
    with pytest.raises(data.DataError) as err:
        data.load_arrays("mnist", root)
    message = str(err.value)
    assert str(path) in message and data.MNIST_MD5["t10k-labels-idx1-ubyte"] in message
    assert "python -m lth_utils fetch-data mnist" in message


def test_missing_data_file_error_names_the_file(tmp_path):
    with pytest.raises(data.DataError, match="missing data file .*train-images-idx3-ubyte.*fetch-data mnist"):
        data.load_arrays("mnist", tmp_path)


def test_an_existing_verified_folder_is_used_as_is(data_root, tmp_path, monkeypatch):
    root = _copy_mnist(data_root, tmp_path)
    monkeypatch.setattr(data, "download_mnist_wheel", lambda *_: pytest.fail("must not download"))
    assert data.fetch_mnist(root) == root / "MNIST/raw"


def test_idx_round_trip_and_truncation_is_detected(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(data.encode_idx(array))
    assert np.array_equal(data.read_idx(path), array)
    path.write_bytes(data.encode_idx(array)[:-1])
    with pytest.raises(data.DataError, match="truncated"):
        data.read_idx(path)


def _fake_fashion_source(tmp_path, monkeypatch):
    source = tmp_path / "debian"
    source.mkdir()
    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (5010, 28, 28)),
              "train-labels-idx1-ubyte": rng.integers(0, 10, 5010),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (20, 28, 28)),
              "t10k-labels-idx1-ubyte": rng.integers(0, 10, 20)}
    md5 = {}
    for name, array in arrays.items():
        raw = data.encode_idx(array)
        (source / f"{name}.gz").write_bytes(gzip.compress(raw))
        import hashlib
        md5[name] = hashlib.md5(raw).hexdigest()
    monkeypatch.setattr(data, "FASHION_MNIST_MD5", md5)
    return source


def test_fashion_mnist_is_read_from_debian_gzip_files_and_verified(tmp_path, monkeypatch):
    source = _fake_fashion_source(tmp_path, monkeypatch)
    folder = data.fetch_fashion_mnist(tmp_path / "root", source=source)
    assert folder == tmp_path / "root/FashionMNIST/raw"
    splits = data.make_splits(*data.load_arrays("fashion_mnist", tmp_path / "root"))
    assert [len(y) for _, y in (splits.train, splits.val, splits.test)] == [10, 5000, 20]


def test_missing_fashion_mnist_says_how_to_install_it(tmp_path):
    with pytest.raises(data.DataError, match="apt-get install -y dataset-fashion-mnist") as error:
        data.fetch_fashion_mnist(tmp_path, source=tmp_path / "nowhere", url="http://127.0.0.1:9/")
    assert "could not be downloaded from http://127.0.0.1:9/train-images-idx3-ubyte.gz" in str(error.value)


@pytest.mark.skipif(not data.FASHION_MNIST_SOURCE.is_dir(), reason="Debian's dataset-fashion-mnist is not installed "
                    "(make data installs it when run as root)")
def test_fashion_mnist_downloads_and_verifies_the_official_files_without_the_package(tmp_path):
    import functools
    import http.server
    import threading

    served = tmp_path / "served"
    shutil.copytree(data.FASHION_MNIST_SOURCE, served)  # stands in for the official server's files
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        folder = data.fetch_fashion_mnist(tmp_path / "data", source=tmp_path / "nowhere",
                                          url=f"http://127.0.0.1:{server.server_address[1]}/")
    finally:
        server.shutdown()
    assert data.files_ok(folder, data.FASHION_MNIST_MD5)


def test_cifar10_binary_reader_on_generated_files(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    for i, name in enumerate(data.CIFAR10_TRAIN_FILES):
        cifar_batch(folder / name, [i, (i + 1) % 10] * 600, seed=i)
    pixels = cifar_batch(folder / "test_batch.bin", [3, 4, 5], seed=9)
    train_x, train_y, test_x, test_y = data.load_arrays("cifar10", tmp_path)
    assert train_x.shape == (6000, 3, 32, 32) and test_y.tolist() == [3, 4, 5]
    assert np.array_equal(test_x[1].reshape(-1), pixels[1])  # channel planes kept in file order (R, G, B)
    assert data.fetch_cifar10(tmp_path) == folder  # a user folder is used without downloading


def test_truncated_cifar10_file_is_an_error(tmp_path):
    path = tmp_path / "test_batch.bin"
    path.write_bytes(b"\x01" * 3000)
    with pytest.raises(data.DataError, match="truncated"):
        data.read_cifar10_binary(path)


def test_batch_stream_is_seeded_and_visits_every_example_once_per_epoch():
    first = list(zip(range(10), data.batch_stream(100, 10, torch.Generator().manual_seed(5))))
    again = list(zip(range(10), data.batch_stream(100, 10, torch.Generator().manual_seed(5))))
    assert all(torch.equal(a, b) for (_, a), (_, b) in zip(first, again))
    assert sorted(torch.cat([b for _, b in first]).tolist()) == list(range(100))


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(ValueError, match="known datasets: mnist, fashion_mnist, cifar10"):
        data.fetch("svhn")


@pytest.mark.parametrize("root", ["/proc/nope", "/etc/hostname/data"])
def test_a_data_root_that_cannot_be_created_is_a_clear_error(root):
    with pytest.raises(data.DataError, match=f"data_root='{root}' cannot be used"):
        data.fetch("mnist", root)
    result = subprocess.run([sys.executable, "-m", "lth_utils", "imp", "--data-root", root, "--levels", "0"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and f"data_root='{root}' cannot be used" in result.stderr
    assert "Traceback" not in result.stderr


def cifar_folder(root):
    folder = root / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    for i, name in enumerate(data.CIFAR10_TRAIN_FILES + data.CIFAR10_TEST_FILES):
        cifar_batch(folder / name, [i % 10] * 20, seed=i)
    return folder


def test_cifar10_files_are_checksummed_once_verified_and_a_changed_file_is_named(tmp_path):
    folder = cifar_folder(tmp_path)
    data.load_arrays("cifar10", tmp_path)
    assert (folder / data.CIFAR10_MANIFEST).is_file()
    raw = bytearray((folder / "data_batch_3.bin").read_bytes())
    raw[5] ^= 1
    (folder / "data_batch_3.bin").write_bytes(bytes(raw))
    with pytest.raises(data.DataError, match="data_batch_3.bin changed since it was verified"):
        data.load_arrays("cifar10", tmp_path)


def test_a_partial_cifar10_folder_is_replaced_by_the_verified_archive(tmp_path, monkeypatch):
    import tarfile
    source = cifar_folder(tmp_path / "src")
    archive = tmp_path / "data" / "downloads" / "cifar-10-binary.tar.gz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname="cifar-10-batches-bin")
    monkeypatch.setattr(data, "CIFAR10_TAR_MD5", data.file_digest(archive, "md5"))
    partial = tmp_path / "data" / "cifar-10-batches-bin"
    partial.mkdir()
    (partial / "data_batch_1.bin").write_bytes(b"\x00" * 3073)
    folder = data.fetch_cifar10(tmp_path / "data", url="http://127.0.0.1:9/none")
    assert folder == partial and not (folder / "cifar-10-batches-bin").exists()
    assert (folder / "data_batch_1.bin").read_bytes() == (source / "data_batch_1.bin").read_bytes()
    assert (folder / data.CIFAR10_MANIFEST).is_file()
