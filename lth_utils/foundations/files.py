"""Atomic file writes: a reader sees either the old file or the complete new one, never a partial one.

Every file the project writes (data, masks, weights, metrics, summaries) goes through `atomic_write`, so a run killed
at any moment (SIGKILL included) leaves no truncated file behind for a resumed run to trip over.

    atomic_write_text("runs/x/config.json", json.dumps(cfg))
    atomic_torch_save("runs/x/trial_0/level_0/mask.pt", mask)
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import torch


@contextlib.contextmanager
def _temporary_beside(path: Path) -> Iterator[Path]:
    # The temporary file lives in the destination folder so that os.replace is a same-filesystem rename.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def atomic_write(path: str | os.PathLike, write: Callable[[io.BufferedWriter], None]) -> Path:
    """Call `write(f)` on a temporary file, flush it to disk, then rename it to `path`."""
    path = Path(path)
    with _temporary_beside(path) as tmp:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; data and results are meant to be shared
        os.replace(tmp, path)
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_torch_save(path: str | os.PathLike, obj) -> Path:
    return atomic_write(path, lambda f: torch.save(obj, f))


def torch_load(path: str | os.PathLike):
    """Load tensors saved by `atomic_torch_save`; weights_only refuses anything that is not plain data."""
    return torch.load(path, map_location="cpu", weights_only=True)


def file_digest(path: str | os.PathLike, algorithm: str = "md5") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
