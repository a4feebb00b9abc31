"""Opening and closing ZooKeeper sessions (kazoo clients).

One place opens kazoo clients so that every command maps failures the same way and never
hangs in kazoo's stop() (python-zk/kazoo#688 makes stop() wait forever after some auth
failures, so it is always called with a bounded wait). `ClusterSession` is its only caller
besides the long-lived `ClusterWatch`.
"""

from __future__ import annotations

import atexit
import logging
import threading
import warnings
import weakref
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from engine.cluster.connect import ZkConnect, all_refused
from engine.errors import AuthenticationFailure, ConnectionFailure

if TYPE_CHECKING:
    from kazoo.client import KazooClient

    from engine.cluster.zk_auth import ZkAuth
    from engine.cluster.zk_tls import ZkTls


_KAZOO_LOG = logging.getLogger("engine.zookeeper")


def _only_when_debugging(_record: logging.LogRecord) -> bool:
    # kazoo logs every failed reconnect as a warning; the user gets one ConnectionFailure
    # line (or a ConnectionChanged event) instead, and --debug still shows kazoo's story.
    return logging.getLogger().isEnabledFor(logging.DEBUG)


_KAZOO_LOG.addFilter(_only_when_debugging)


# The memory files holding a TLS client's PKCS12 material, closed when the client stops.
_TLS_FILES: weakref.WeakKeyDictionary[KazooClient, ExitStack] = weakref.WeakKeyDictionary()


def open_kazoo(zk: ZkConnect, timeout: float, auth: ZkAuth | None = None,
               tls: ZkTls | None = None) -> KazooClient:
    """`start_kazoo` with a login and ZooKeeper TLS settings: the TLS handshake is tried
    first (a refused certificate or an untrusted CA is one line at once, not a timeout),
    and the files kazoo reopens on every reconnect live until `stop_kazoo`."""
    options = auth.kazoo_options() if auth is not None else {}
    if tls is None:
        return start_kazoo(zk, timeout, **options)
    from engine.cluster.zk_tls import check_zk_tls

    files = ExitStack()
    try:
        options.update(files.enter_context(tls.kazoo_options()))
        check_zk_tls(zk.hosts, tls, options, timeout)
        client = start_kazoo(zk, timeout, **options)
    except BaseException:
        files.close()
        raise
    _TLS_FILES[client] = files
    return client


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

    if all_refused(zk.hosts, min(timeout, 2.0)):
        raise ConnectionFailure(f"ZooKeeper at {zk.hosts_string} refused the connection "
                                "(nothing listens there)")
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
        return  # its TLS files stay open for it; a reconnect would need them
    files = _TLS_FILES.pop(client, None)
    if files is not None:
        files.close()
