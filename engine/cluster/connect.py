"""Parse and validate the connection strings users type: ZooKeeper connect strings and
Kafka bootstrap lists.

The grammar follows what ZooKeeper's own client accepts (`host[:port][,host[:port]...][/chroot]`,
port 2181 when omitted, IPv6 literals in brackets, one chroot after the last host) and what a
Kafka client accepts for `bootstrap.servers`. Anything else is refused with a
`ValidationError` that says which part is wrong, so a typo is exit 2 instead of a
ten-second connection timeout.
"""

from __future__ import annotations

import atexit
import ipaddress
import logging
import re
import threading
import warnings
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.errors import AuthenticationFailure, ConnectionFailure, ValidationError

if TYPE_CHECKING:
    from kazoo.client import KazooClient

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


# --- Opening and closing ZooKeeper sessions ------------------------------------------------
#
# One place opens kazoo clients so that every command maps failures the same way and never
# hangs in kazoo's stop() (python-zk/kazoo#688 makes stop() wait forever after some auth
# failures, so it is always called with a bounded wait).

_KAZOO_LOG = logging.getLogger("engine.zookeeper")


def _only_when_debugging(_record: logging.LogRecord) -> bool:
    # kazoo logs every failed reconnect as a warning; the user gets one ConnectionFailure
    # line (or a ConnectionChanged event) instead, and --debug still shows kazoo's story.
    return logging.getLogger().isEnabledFor(logging.DEBUG)


_KAZOO_LOG.addFilter(_only_when_debugging)


def start_kazoo(zk: ZkConnect, timeout: float, **kazoo_options: Any) -> KazooClient:
    """A started KazooClient for `zk`, connected within `timeout` seconds.

    Raises ConnectionFailure (one line) when no server answers in time or the session is
    refused. The caller owns the client and must end it with `stop_kazoo`.
    """
    from kazoo.client import KazooClient
    from kazoo.exceptions import (
        AuthFailedError,
        ConnectionLoss,
        KazooException,
        SessionClosedRequireSaslError,
    )
    from kazoo.handlers.threading import KazooTimeoutError

    _quiet_kazoo_login_failures()
    client = KazooClient(hosts=str(zk), timeout=max(timeout, 1.0), logger=_KAZOO_LOG,
                         **kazoo_options)
    try:
        with warnings.catch_warnings():
            # kazoo warns with `warnings` when the chroot is missing; discovery reports that
            # itself as "no Kafka cluster registered", a clearer message.
            warnings.filterwarnings("ignore", message="No chroot path exists")
            client.start(timeout=timeout)
    except KazooTimeoutError:
        stop_kazoo(client)
        raise ConnectionFailure(
            f"ZooKeeper at {zk.hosts_string} did not answer within {timeout:g} s") from None
    except (AuthFailedError, ConnectionLoss) as exc:
        if isinstance(exc, ConnectionLoss) and "sasl_options" not in kazoo_options:
            stop_kazoo(client)
            raise ConnectionFailure(f"ZooKeeper at {zk.hosts_string} refused the session: "
                                    "ConnectionLoss") from None
        # A server that demands SASL closes the session on a bad login; kazoo then reports
        # a lost connection (its connection thread died with the real error).
        stop_kazoo(client, wait=1.0)
        raise AuthenticationFailure(
            f"ZooKeeper at {zk.hosts_string}: authentication failed (check the user and "
            "password of --zookeeper-auth)") from None
    except SessionClosedRequireSaslError:
        stop_kazoo(client, wait=1.0)
        raise AuthenticationFailure(
            f"ZooKeeper at {zk.hosts_string} requires a SASL login: give --zookeeper-auth "
            "FILE (or zookeeper_auth in the console profile)") from None
    except (KazooException, OSError) as exc:
        stop_kazoo(client)
        raise ConnectionFailure(f"ZooKeeper at {zk.hosts_string} refused the session: "
                                f"{type(exc).__name__} {exc}".rstrip()) from None
    _exit_with_bounded_stop(client)
    return client


# Clients started by start_kazoo and not yet stopped: ended at exit with a bounded wait.
_LIVE_CLIENTS: weakref.WeakSet[KazooClient] = weakref.WeakSet()


def _exit_with_bounded_stop(client: KazooClient) -> None:
    """Replace kazoo's exit hook for this client by a bounded one.

    kazoo registers its handler's stop() with atexit; that stop() joins worker threads that
    may be waiting, without a timeout, for an answer from a ZooKeeper that is gone. A
    client left running (an outage at the moment it was closed) would then hang the process
    at exit. Ours stops the client itself, which fails the pending calls, and gives up
    after a few seconds.
    """
    atexit.unregister(client.handler.stop)
    _LIVE_CLIENTS.add(client)


@atexit.register
def _stop_live_clients() -> None:
    for client in list(_LIVE_CLIENTS):
        stop_kazoo(client, wait=2.0)


_LOGIN_HOOK_INSTALLED = threading.Event()


def _quiet_kazoo_login_failures() -> None:
    """Keep a rejected ZooKeeper login to the one error line start_kazoo raises.

    kazoo's connection thread ends with an uncaught exception when the server closes the
    session during a SASL login; Python would print its traceback on stderr. Those go to
    the debug log instead; every other uncaught exception keeps the previous hook.
    """
    if _LOGIN_HOOK_INSTALLED.is_set():
        return
    _LOGIN_HOOK_INSTALLED.set()
    from kazoo.exceptions import AuthFailedError, SessionClosedRequireSaslError

    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if isinstance(args.exc_value, (AuthFailedError, SessionClosedRequireSaslError)):
            _KAZOO_LOG.debug("ZooKeeper login rejected: %s", type(args.exc_value).__name__)
            return
        previous(args)

    threading.excepthook = hook


def stop_kazoo(client: KazooClient, wait: float = 5.0) -> None:
    """Stop and close a kazoo client, giving up (and logging) after `wait` seconds."""
    _LIVE_CLIENTS.discard(client)

    def _end() -> None:
        try:
            client.stop()
            client.close()
        except Exception:  # noqa: BLE001 - closing is best effort; nothing to tell the user
            _KAZOO_LOG.debug("closing the ZooKeeper client failed", exc_info=True)

    ender = threading.Thread(target=_end, name="kazoo-stop", daemon=True)
    ender.start()
    ender.join(wait)
    if ender.is_alive():
        _KAZOO_LOG.warning("the ZooKeeper client did not stop within %g s; left behind", wait)
