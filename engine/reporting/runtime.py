"""Which runtime of a broker a report speaks for, and whether the broker runs at all.

Every report is a statement "broker N, in its runtime T, is running". Before each report,
whoever sends it (the agent, `ps-console report`, the console's Report now), `identify`
checks that the broker is registered with its cluster and finds T, the broker token:

- ZooKeeper mode: the registration znode (`engine.cluster.registration`) gives the token
  (`engine.reporting.tokens.zookeeper_token`); every sender anywhere reads the same znode.
- KRaft: clients are shown no registration identity (see `engine.cluster.registration`),
  so the runtime is the broker's JVM, seen in /proc on the broker's host: pid and start
  time on this boot (`tokens.jvm_token`). Every sender on that host agrees. A sender
  elsewhere (a console on an admin host) cannot see the JVM; it takes the token of the
  broker's latest report in the topic, which the agent beside the broker wrote, provided it
  names the same cluster. It cannot tell a restart since that report; the agent reports at
  once after its broker registers again, so that lag is the agent's few seconds.
- Not registered: `BrokerNotRunning`, nothing is sent (CP's agent lived in the broker
  and could not report for a stopped one). Nor when a sender that saw the broker's JVM on
  this host finds it gone: a registration outlives a killed broker by a session timeout.
- The registration cannot be read (ZooKeeper, or in KRaft every broker, unreachable): a
  ZooKeeper-mode broker cannot start while ZooKeeper is away, so the broker JVM that was
  seen registered, still running on this host (same boot, pid and start time), is the same
  runtime: report with its token (`TokenCache` remembers it). Without that proof,
  `RuntimeUnknown`: nothing is sent, because nothing shows the broker runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from engine.cluster.registration import Registration, read_registration
from engine.cluster.session import ClusterSession
from engine.config.settings import SettingsFile
from engine.errors import AuthenticationFailure, ConnectionFailure, PsError
from engine.reporting.tokens import (
    CachedRuntime,
    JvmIdentity,
    TokenCache,
    jvm_token,
    zookeeper_token,
)

log = logging.getLogger(__name__)

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


class BrokerNotRunning(PsError):
    """The broker is not registered with its cluster: no report may speak for it."""


class RuntimeUnknown(PsError):
    """Whether the broker runs, and in which runtime, cannot be told right now."""


class RegistrationUnreadable(RuntimeUnknown):
    """The registration cannot be read (and nothing else proves the runtime): it can be
    told again once the registration can be read."""


@dataclass(frozen=True)
class BrokerRuntime:
    """The runtime a report speaks for: its token, how it was told, and what the sender
    should know about that (None when nothing)."""

    broker_id: int
    token: str
    source: str
    warning: str | None = None


def _boot_id() -> str | None:
    try:
        text = BOOT_ID.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


def local_jvm(settings_file: SettingsFile) -> JvmIdentity | None:
    """The identity of the broker's JVM when it runs on this host (and is visible)."""
    from engine.reporting.collector import find_broker_process

    boot = _boot_id()
    if boot is None:
        return None
    try:
        process = find_broker_process(settings_file.path, settings_file.broker)
    except OSError:
        return None
    return None if process is None else JvmIdentity(boot, process.pid, process.start_ms)


def cache_key(session: ClusterSession, broker_id: int) -> str:
    """How a sender names one broker in its cache: its cluster as reached, and its id."""
    return f"{session.location.description}#{int(broker_id)}"


def identify(session: ClusterSession, settings_file: SettingsFile, broker_id: int,
             topic: str | None, cache: TokenCache | None) -> BrokerRuntime:
    """The runtime of `broker_id` that a report made now speaks for (module docstring).

    Raises BrokerNotRunning when the broker is not registered, RuntimeUnknown when that
    cannot be told or (KRaft, away from the broker) no token can be agreed on; both are
    PsErrors with one line for the user (exit 1), as is AuthenticationFailure when the
    cluster rejects the sender's credentials. `topic` is where a sender away from a
    KRaft broker looks for its latest report; `cache` keeps runtimes for an outage.
    """
    key = cache_key(session, broker_id)
    try:
        registration = read_registration(session, broker_id)
    except AuthenticationFailure:
        # Rejected credentials or trust: no send would get through either, and the line
        # should name the cause, not an unknown runtime.
        raise
    except ConnectionFailure as exc:
        return _unreadable(settings_file, broker_id, cache, key, exc)
    if registration is None:
        where = (f"in ZooKeeper at {session.location.zookeeper_text}" if session.has_zookeeper
                 else "with the cluster (DescribeCluster does not list it)")
        raise BrokerNotRunning(f"broker {broker_id} is not registered {where}: it is not "
                               "running, so no report is sent for it")
    jvm = local_jvm(settings_file)
    cached = cache.get(key) if cache is not None else None
    seen_here = cached is not None and cached.jvm is not None
    # A registration outlives a broker killed on this host: ZooKeeper drops it when its
    # session expires, the controllers when they fence the broker, seconds later. A sender
    # that saw the broker's JVM here knows sooner.
    if seen_here and jvm is None:
        until = ("its ZooKeeper session expires" if session.has_zookeeper
                 else "the controllers fence it")
        raise BrokerNotRunning(f"broker {broker_id}'s JVM seen on this host is gone (its "
                               f"registration lingers until {until}): it is not running, so "
                               "no report is sent for it")
    if registration.from_zookeeper:
        runtime = BrokerRuntime(broker_id, zookeeper_token(
            registration.cluster_id, registration.cluster_facts, broker_id,
            registration.facts), "its registration in ZooKeeper")
        if seen_here and cached is not None and jvm != cached.jvm \
                and runtime.token == cached.token:
            raise BrokerNotRunning(f"broker {broker_id} restarted on this host and has not "
                                   "registered again yet (the registration left is its "
                                   "previous JVM's): no report is sent for it until it has")
    elif jvm is not None:
        runtime = BrokerRuntime(broker_id, jvm_token(registration.cluster_id, broker_id, jvm),
                                "its JVM on this host")
    else:
        runtime = _from_topic(session, registration, topic)
    if cache is not None:
        cache.put(key, CachedRuntime(runtime.token, jvm))
    return runtime


def _unreadable(settings_file: SettingsFile, broker_id: int, cache: TokenCache | None,
                key: str, exc: ConnectionFailure) -> BrokerRuntime:
    cached = cache.get(key) if cache is not None else None
    jvm = local_jvm(settings_file)
    if cached is not None and cached.jvm is not None:
        if jvm == cached.jvm:
            return BrokerRuntime(
                broker_id, cached.token, "the same JVM as at its last registration",
                f"broker {broker_id}'s registration not read ({exc}); the JVM seen "
                "registered still runs on this host, so the runtime and its token are the same")
        if jvm is None:
            raise BrokerNotRunning(f"broker {broker_id}'s JVM seen on this host is gone (and "
                                   f"its registration cannot be read: {exc}): it is not "
                                   "running, so no report is sent for it") from None
        why = "its JVM on this host is not the one seen registered (it restarted)"
    elif jvm is None:
        why = "its JVM is not visible on this host"
    else:
        why = "this sender never saw it registered"
    raise RegistrationUnreadable(f"broker {broker_id}'s registration cannot be read ({exc}) "
                                 f"and {why}: whether it runs cannot be told, so no report "
                                 "is sent") from None


def _from_topic(session: ClusterSession, registration: Registration,
                topic: str | None) -> BrokerRuntime:
    broker_id = registration.broker_id
    unknown = (f"broker {broker_id}'s runtime cannot be told from this host: KRaft shows "
               "clients no registration identity and its JVM does not run here")
    if not topic:
        raise RuntimeUnknown(f"{unknown}, and there is no support topic to read its agent's "
                             "token from; run the report on the broker's host")
    from engine.reading.reports import latest_per_broker

    try:
        reports = latest_per_broker(session, topic, broker_ids=[broker_id])
    except PsError as exc:
        raise RuntimeUnknown(f"{unknown}, and {topic} cannot be read ({exc})") from None
    for report in reports:
        if (report.broker_id == broker_id and report.ok and report.token
                and report.cluster_id == registration.cluster_id):
            return BrokerRuntime(
                broker_id, report.token, f"its latest report in {topic}",
                f"broker {broker_id}'s token is its latest report's ({report.position}): "
                "KRaft shows clients no registration identity and its JVM does not run here")
    raise RuntimeUnknown(f"{unknown}, and {topic} holds no report of it from this cluster "
                         "yet; run the report on the broker's host or start its agent")
