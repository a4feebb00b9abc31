"""The bundle export's fast path: the C extension `engine._zipdrain`, found and checked.

Reading through confluent-kafka costs a Python Message object and a bytes copy per record,
which caps the export well below what librdkafka itself reads. `_zipdrain` runs a second
librdkafka consumer — the same library confluent-kafka loaded — and writes each record as
a zip entry without the GIL (see engine/_zipdrain.c). It is optional: when the extension
was not built, the library cannot be located, or the client configuration holds Python
callbacks, `open_drain` returns None and the export takes its pure-Python path, which
writes the same bytes.
"""

from __future__ import annotations

import logging
import threading
import zlib
from types import ModuleType
from typing import Any

_LOG = logging.getLogger(__name__)


class FatalError(Exception):
    """librdkafka gave up on the read (a fatal client error); raised by a Drain."""


_lock = threading.Lock()
_loaded: list[ModuleType | None] = []  # [module or None] once load was tried


def _librdkafka_path() -> str | None:
    """The file of the librdkafka confluent-kafka runs on, as the process mapped it.

    Taken from /proc/self/maps rather than guessed from the package layout, so a wheel's
    bundled copy and a system library are both found, and dlopen hands back that very copy.
    """
    import confluent_kafka.cimpl  # noqa: F401 - loads librdkafka into the process

    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                path = line.rstrip("\n").split(maxsplit=5)[-1]
                if "/librdkafka" in path and ".so" in path:
                    return path
    except OSError:
        pass
    return None


def _isal_crc_address() -> int:
    """The address of ISA-L's crc32_gzip_refl inside the isal wheel, or 0 (zlib's then)."""
    try:
        import ctypes

        from isal import isal_zlib

        return ctypes.cast(ctypes.CDLL(isal_zlib.__file__).crc32_gzip_refl,
                           ctypes.c_void_p).value or 0
    except (ImportError, OSError, AttributeError):
        return 0


def _load() -> ModuleType | None:
    try:
        from engine import _zipdrain
    except ImportError as exc:
        _LOG.debug("bundle export: no C fast path (%s); using Python", exc)
        return None
    path = _librdkafka_path()
    if path is None:
        _LOG.debug("bundle export: librdkafka's file not found; using Python")
        return None
    try:
        _zipdrain.load(path, _isal_crc_address(), FatalError)
        sample = bytes(range(256)) * 9 + b"ps-console"
        if _zipdrain.crc32(sample) != zlib.crc32(sample):
            # Not the function we took it for: zlib's CRC is slower but certainly right.
            _zipdrain.load(path, 0)
    except OSError as exc:
        _LOG.debug("bundle export: C fast path unusable (%s); using Python", exc)
        return None
    return _zipdrain


def drain_module() -> ModuleType | None:
    """`engine._zipdrain`, loaded and checked once; None when the fast path is unusable."""
    with _lock:
        if not _loaded:
            _loaded.append(_load())
        return _loaded[0]


def _as_string(value: object) -> str | None:
    """A configuration value as librdkafka's text, None for what only Python can take."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return None


def open_drain(config: dict[str, Any]) -> Any | None:
    """A `_zipdrain.Drain` consumer with this confluent-kafka configuration, or None.

    None when the fast path is unusable or a value is a Python object (an OAuth or error
    callback): only confluent-kafka can serve those.
    """
    module = drain_module()
    if module is None:
        return None
    # --debug hands librdkafka's log to a Python logger; this consumer logs to stderr
    # itself instead, at the same level, rather than leave the fast path.
    text = {key: _as_string(value) for key, value in config.items() if key != "logger"}
    if None in text.values():
        return None
    try:
        return module.Drain(text)
    except ValueError as exc:
        # confluent-kafka took the same configuration; say why, then read through it.
        _LOG.debug("bundle export: C consumer refused the configuration (%s)", exc)
        return None
