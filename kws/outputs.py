"""Check where a command will write before it starts the work: one line naming the option and the fix."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from .errors import KwsError


def _probe(folder: Path, option: str, path: Path) -> None:
    """Refuse a folder this process cannot create files in (a read-only mount, no permission)."""
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as e:
        raise KwsError(f"{option} {path}: cannot write there ({e.strerror}); pick a writable folder") from None


def image_file(path, option: str) -> Path:
    """An image file name matplotlib can write (.png, .pdf, .svg, ...), in an existing, writable folder."""
    from matplotlib.backend_bases import FigureCanvasBase

    kinds = FigureCanvasBase.get_supported_filetypes()
    return output_file(path, option, (".png", *(f".{k}" for k in kinds if k != "png")))


def output_file(path, option: str, suffixes: tuple[str, ...]) -> Path:
    """A file name ending in one of `suffixes`, in an existing, writable folder."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        kind = "an image file name" if ".png" in suffixes else f"a {' / '.join(suffixes)} file name"
        raise KwsError(f"{option} {path}: not {kind}; end it in {suffixes[0]}")
    if not path.parent.is_dir():
        raise KwsError(f"{option} {path}: folder {path.parent} does not exist; create it or pick another path")
    if path.is_dir():
        raise KwsError(f"{option} {path}: is a folder; name a file in it")
    _probe(path.parent, option, path)
    return path


def output_folder(path, option: str) -> Path:
    """A folder to write into, created with its parents if missing."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise KwsError(f"{option} {path}: is a file, not a folder; pick a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise KwsError(f"{option} {path}: cannot write there ({e.strerror}); pick a writable folder") from None
    _probe(path, option, path)
    return path


def replace_with(path, write) -> Path:
    """Make `path` in one step: `write(tmp)` writes a temporary name beside it (ending in `path`'s name, as Keras
    wants), which is then renamed into place. A reader never sees half a file; a failed write keeps the old one."""
    path = Path(path)
    tmp = path.with_name(f".tmp-{secrets.token_hex(4)}-{path.name}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def replace_file(path, data: bytes) -> Path:
    """Write `data` to `path` in one step (replace_with); parent folders are created."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return replace_with(path, lambda tmp: tmp.write_bytes(data))
    except OSError as e:
        raise KwsError(f"{path}: cannot write it ({e.strerror}); pick a writable folder with free space") from None
