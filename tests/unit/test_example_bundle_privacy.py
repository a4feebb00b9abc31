"""The committed example bundle keeps the product's privacy promise, byte for byte."""

from __future__ import annotations

import re
import socket
import zipfile
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support-metrics-example.zip"


def _word(name: str) -> re.Pattern[bytes]:
    """`name` not glued to letters or digits (a host called `vm` is not in `jvmUptimeMs`)."""
    return re.compile(rb"(?<![A-Za-z0-9])" + re.escape(name.encode()) + rb"(?![A-Za-z0-9])",
                      re.IGNORECASE)


def _host_names() -> set[str]:
    names = {socket.gethostname(), socket.getfqdn()}
    names |= {n.split(".")[0] for n in names}
    return {n for n in names if n and n not in ("localhost", "localhost.localdomain")}


FORBIDDEN: list[tuple[str, re.Pattern[bytes]]] = [
    ("loopback address", re.compile(rb"127\.0\.0\.1")),
    ("IPv4 address", re.compile(rb"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")),
    ("localhost", re.compile(rb"localhost", re.IGNORECASE)),
    ("port", re.compile(rb":\d{4,5}(?!\d)")),
    ("password", re.compile(rb"passw(or)?d", re.IGNORECASE)),
    ("secret", re.compile(rb"secret", re.IGNORECASE)),
    ("home or temp path", re.compile(rb"/(home|root|tmp|work)/")),
]


def bundle_parts() -> list[tuple[str, bytes]]:
    """The whole file, and each entry and the comment on their own (as readers see them)."""
    with zipfile.ZipFile(EXAMPLE) as zf:
        parts = [(f"entry {info.filename}", zf.read(info)) for info in zf.infolist()]
        parts.append(("archive comment", zf.comment))
    return [("file", EXAMPLE.read_bytes()), *parts]


@pytest.mark.parametrize("what,pattern", FORBIDDEN, ids=[f[0] for f in FORBIDDEN])
def test_no_host_address_port_or_secret_anywhere(what, pattern):
    for where, data in bundle_parts():
        found = pattern.search(data)
        assert found is None, f"{what} in {where}: {data[max(0, found.start() - 40):found.end() + 20]!r}"


def test_no_host_name_of_this_machine():
    for host in _host_names():
        for where, data in bundle_parts():
            assert _word(host).search(data) is None, f"host name {host!r} in {where}"


def test_example_is_small():
    assert EXAMPLE.stat().st_size < 100 * 1024
