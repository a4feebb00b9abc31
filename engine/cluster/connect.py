"""Parse and validate the connection strings users type: ZooKeeper connect strings and
Kafka bootstrap lists.

The grammar follows what ZooKeeper's own client accepts (`host[:port][,host[:port]...][/chroot]`,
port 2181 when omitted, IPv6 literals in brackets, one chroot after the last host) and what a
Kafka client accepts for `bootstrap.servers`. Anything else is refused with a
`ValidationError` that says which part is wrong, so a typo is exit 2 instead of a
ten-second connection timeout.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.errors import ValidationError

if TYPE_CHECKING:
    pass

ZK_DEFAULT_PORT = 2181

# RFC 1123 labels, plus "_" which real (if non-conforming) internal DNS names do contain.
_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")
# Characters ZooKeeper's PathUtils.validatePath refuses in a path.
_BAD_PATH_CHARS = re.compile("[\u0000-\u001f\u007f-\u009f\ud800-\uf8ff\ufff0-\uffff]")
# An optional listener/protocol prefix as librdkafka accepts it: "SSL://host:port".
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9_+.-]*://")

HostPort = tuple[str, int]


@dataclass(frozen=True)
class ZkConnect:
    """A parsed ZooKeeper connect string. `chroot` is None when there is none."""

    hosts: tuple[HostPort, ...]
    chroot: str | None

    @property
    def hosts_string(self) -> str:
        """The servers alone, `host:port,...`, IPv6 in brackets: what kazoo's `hosts` takes."""
        return ",".join(format_host_port(h, p) for h, p in self.hosts)

    def __str__(self) -> str:
        return self.hosts_string + (self.chroot or "")


def format_host_port(host: str, port: int) -> str:
    """`host:port`, with an IPv6 literal in brackets so the port stays unambiguous."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _check_port(text: str, where: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise ValidationError(f"{where}: port {text!r} is not a number")
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValidationError(f"{where}: port {port} is outside 1-65535")
    return port


def _check_hostname(host: str, where: str) -> str:
    if not host:
        raise ValidationError(f"{where}: the host is empty")
    if len(host) > 253:
        raise ValidationError(f"{where}: the host name is longer than 253 characters")
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    if not all(_LABEL.match(label) for label in labels):
        raise ValidationError(f"{where}: {host!r} is not a valid host name or IP address")
    return host


def _parse_host_port(item: str, default_port: int | None, what: str) -> HostPort:
    """One `host[:port]` or `[v6]:port` entry; `default_port` None makes the port required."""
    where = f"{what} entry {item!r}" if item else f"{what}: an entry"
    if not item:
        raise ValidationError(f"{where} is empty (stray comma?)")
    if item != item.strip():
        raise ValidationError(f"{where} has surrounding spaces")
    if item.startswith("["):
        close = item.find("]")
        if close < 0:
            raise ValidationError(f"{where}: '[' without a closing ']'")
        literal, rest = item[1:close], item[close + 1:]
        try:
            host = str(ipaddress.IPv6Address(literal))
        except ValueError:
            raise ValidationError(f"{where}: {literal!r} is not an IPv6 address") from None
        if rest == "":
            port_text = None
        elif rest.startswith(":"):
            port_text = rest[1:]
        else:
            raise ValidationError(f"{where}: unexpected {rest!r} after the IPv6 address")
    else:
        if item.count(":") > 1:
            raise ValidationError(f"{where}: an IPv6 address must be written in brackets, "
                                  "e.g. [::1]:2181")
        host, sep, port_text_raw = item.partition(":")
        port_text = port_text_raw if sep else None
        _check_hostname(host, where)
    if port_text is None:
        if default_port is None:
            raise ValidationError(f"{where}: the port is missing (host:port)")
        return host, default_port
    return host, _check_port(port_text, where)


def _check_chroot(chroot: str, where: str) -> str:
    if not chroot.startswith("/"):
        raise ValidationError(f"{where}: the chroot {chroot!r} must start with '/'")
    if chroot.endswith("/"):
        raise ValidationError(f"{where}: the chroot {chroot!r} must not end with '/'")
    if "//" in chroot:
        raise ValidationError(f"{where}: the chroot {chroot!r} has an empty path element")
    if _BAD_PATH_CHARS.search(chroot):
        raise ValidationError(f"{where}: the chroot {chroot!r} has a control or reserved "
                              "character")
    for element in chroot[1:].split("/"):
        if element in (".", ".."):
            raise ValidationError(f"{where}: the chroot {chroot!r} has a relative element "
                                  f"{element!r}")
    return chroot


def parse_zk_connect(text: str) -> ZkConnect:
    """Parse `host[:port][,host[:port]...][/chroot]` as ZooKeeper's client does.

    Port 2181 is assumed when omitted; `[v6]:port` for IPv6. Stricter than ZooKeeper in one
    place: a lone trailing `/` (which ZooKeeper ignores) is refused as a likely typo.
    Raises ValidationError naming the bad part.
    """
    what = "ZooKeeper connect string"
    if text is None or not text.strip():
        raise ValidationError(f"{what} is empty")
    if text != text.strip():
        raise ValidationError(f"{what} {text!r} has surrounding spaces")
    # The chroot starts at the first "/" (like ZooKeeper); brackets never contain "/".
    servers, slash, chroot_rest = text.partition("/")
    chroot: str | None = None
    if slash and not chroot_rest:
        raise ValidationError(f"{what} {text!r} ends with '/': give a chroot after it "
                              "or leave the '/' out")
    if slash:
        chroot = _check_chroot("/" + chroot_rest, f"{what} {text!r}")
    if not servers:
        raise ValidationError(f"{what} {text!r} names no server before the chroot")
    hosts = tuple(_parse_host_port(item, ZK_DEFAULT_PORT, what)
                  for item in servers.split(","))
    return ZkConnect(hosts=hosts, chroot=chroot)


def parse_bootstrap(text: str) -> tuple[HostPort, ...]:
    """Parse a Kafka bootstrap list `host:port[,host:port...]` (port required, as in Kafka).

    An optional `PROTOCOL://` prefix per entry is accepted (librdkafka allows it) and
    dropped. Raises ValidationError naming the bad entry.
    """
    what = "bootstrap server list"
    if text is None or not text.strip():
        raise ValidationError(f"{what} is empty")
    if text != text.strip():
        raise ValidationError(f"{what} {text!r} has surrounding spaces")
    entries = []
    for item in text.split(","):
        match = _SCHEME.match(item)
        if match:
            item = item[match.end():]
        if "/" in item:
            raise ValidationError(f"{what} entry {item!r}: a bootstrap server has no path "
                                  "(a chroot belongs to --zookeeper)")
        entries.append(_parse_host_port(item, None, what))
    return tuple(entries)


def format_bootstrap(entries: tuple[HostPort, ...]) -> str:
    """The canonical `host:port,...` form of a parsed bootstrap list."""
    return ",".join(format_host_port(h, p) for h, p in entries)


def all_refused(addresses: tuple[HostPort, ...], timeout: float) -> bool:
    """True when every address refuses a TCP connection outright (nothing listens there).

    ZooKeeper's and Kafka's clients retry a refused connection until their timeout and then
    say "did not answer"; one plain connect per address tells the difference at once. An
    address that does not answer in `timeout`, or accepts, makes this False: only a refusal
    is a refusal.
    """
    import socket

    if not addresses:
        return False
    for host, port in addresses:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return False
        except ConnectionRefusedError:
            continue
        except OSError:
            return False
    return True
