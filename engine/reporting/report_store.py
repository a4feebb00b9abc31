"""Where `ps-console receive` keeps each report: one file per report, durably.

A report counts as received only once it is on disk for good: the receiver answers 200
after `store()` returns, and the sender then forgets the report. So the bytes are written
to a temporary file, fsynced, renamed into place and the folder fsynced too (the rename
itself must survive a power cut). Any failure removes the temporary file and raises.

File names never contain anything the peer sent: the kind comes from a fixed table of the
report paths, the rest from the clock, the process and a counter.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from pathlib import Path

# The report paths and the word each one gives a stored file's name.
KINDS = {"/anon": "anon", "/test": "test", "/submit": "submit"}
_TMP_PREFIX = ".incoming-"


class ReportStore:
    """A folder of received reports, `report-<UTC stamp>-<pid>-<tag>-<seq>-<kind>.avro`."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        # Two receivers in one process (tests) or a restart within a second must never
        # pick the same name: os.replace would silently overwrite a stored report.
        self._tag = secrets.token_hex(4)

    def prepare(self) -> None:
        """Create the folder (and its parents) if missing; OSError when that fails."""
        self.folder.mkdir(parents=True, exist_ok=True)

    def name_for(self, path: str, seq: int) -> str:
        """The file name of report number `seq` posted to `path` (one of KINDS)."""
        kind = KINDS[path]  # KeyError for any other path: nothing else is ever stored
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        return f"report-{stamp}-{os.getpid()}-{self._tag}-{seq:09d}-{kind}.avro"

    def store(self, path: str, seq: int, body: bytes) -> Path:
        """Write `body` as report `seq` and make it durable; returns the file's path.

        Raises OSError (disk full, folder gone, read-only file system); no temporary file
        is left behind then.
        """
        target = self.folder / self.name_for(path, seq)
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=self.folder)
        placed = False
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
            placed = True
            _fsync_folder(self.folder)
        except BaseException:
            # The sender gets a 5xx and keeps the report: a file left here would make
            # its next post a duplicate.
            try:
                os.unlink(target if placed else tmp)
            except OSError:
                pass  # the folder is gone with it
            raise
        return target


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
