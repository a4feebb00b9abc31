"""Files written so that nothing is ever seen half-written, and files read within a bound.

`atomic_file` is the one way the project writes a file others read (settings, the spool,
broker tokens, received reports, bundles): a hidden temp file beside the target, written and
fsync'd, then renamed (or hard-linked, when an existing file must not be replaced), then the
folder fsync'd so the rename itself survives a crash. On any error, KeyboardInterrupt
included, the temp file is removed and the target is untouched.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

TEMP_SUFFIX = ".tmp"


class TargetExists(FileExistsError):
    """`atomic_file(..., overwrite=False)` found the target already there."""


def fsync_folder(folder: str | os.PathLike[str]) -> None:
    """Make a rename or unlink in `folder` durable (best effort where folders cannot be
    opened, as on some network file systems)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_path(target: Path) -> Path:
    """The hidden, unique temp file beside `target` that `atomic_file` writes first."""
    return target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}{TEMP_SUFFIX}")


@contextmanager
def atomic_file(target: str | os.PathLike[str], *, mode: int | None = None,
                keep_owner: bool = False, overwrite: bool = True) -> Iterator[BinaryIO]:
    """Write `target` atomically through the unbuffered binary file this yields.

    `mode` None gives the new file the umask's permissions; an explicit `mode` is set
    exactly. `keep_owner` gives it the owner and group of the file it replaces, where the
    process may. `overwrite=False` never replaces an existing target: TargetExists, with no
    check-then-rename race (the temp file is hard-linked into place). OSError otherwise.
    """
    path = Path(target)
    tmp = temp_path(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else mode)
    try:
        with os.fdopen(fd, "wb", buffering=0) as handle:
            yield handle
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            if keep_owner:
                try:
                    existing = path.stat()
                    os.fchown(handle.fileno(), existing.st_uid, existing.st_gid)
                except (FileNotFoundError, PermissionError):
                    pass  # a new file, or not ours to give away: keep our own ownership
            os.fsync(handle.fileno())
        _publish(tmp, path, overwrite)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


def _publish(tmp: Path, path: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # fails if `path` appeared meanwhile
    except FileExistsError:
        raise TargetExists(f"{path} already exists") from None
    except OSError:
        # File systems without hard links: the best left is to check, then rename.
        if os.path.lexists(path):
            raise TargetExists(f"{path} already exists") from None
        os.replace(tmp, path)
        return
    tmp.unlink()


def atomic_write(target: str | os.PathLike[str], data: bytes, *, mode: int | None = None,
                 keep_owner: bool = False) -> None:
    """Write `data` to `target` atomically (see `atomic_file`)."""
    with atomic_file(target, mode=mode, keep_owner=keep_owner) as handle:
        view = memoryview(data)
        while view:
            written = handle.write(view)
            if not written:
                raise OSError(f"could not write to {target}")
            view = view[written:]


class TooLarge(ValueError):
    """A file is larger than the bound its reader allows."""


def read_bounded(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of `path`, at most `limit` of them: TooLarge when there are more (the read
    stops there), OSError as `open` raises it."""
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"{path} is larger than {limit} bytes")
    return data
