"""Collect one support report for one broker, from outside the broker's JVM.

CP 3.x collected inside the broker and read its JMX beans. This agent runs beside the
broker, so it reports only what it can really observe: ZooKeeper (cluster id, topic
count, `srvr` statistics), the AdminClient (topics, partitions, replica placement, topic
configs), the broker's `server.properties` (after the privacy filter), and, when the
broker runs on this host, its process (start time, `-Xmx`, CPU affinity, `-D` flags).
Every figure that cannot be observed is `-1`; nothing is estimated.

A basic report goes out for anonymous (or invalid) customer ids, an enhanced one for `c0`
and real customer ids, as in CP.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.cluster.kafka_version import (
    confluent_version_from_home,
    probe_kafka_version,
    version_from_home,
)
from engine.cluster.session import ClusterSession
from engine.config import settings as ps_settings
from engine.config.broker import BrokerConfig
from engine.config.settings import SettingsFile, customer_id_kind
from engine.errors import PsError
from engine.reporting.jvm_runtime import runtime_properties
from engine.reporting.privacy import (
    hosts_named_in,
    scrub_broker_config,
    scrub_java_properties,
    scrub_stats,
)

log = logging.getLogger(__name__)

STATE_RUNNING = 2
STATE_SHUTTING_DOWN = 1
UNKNOWN = -1
HISTOGRAM_BUCKETS = 6  # values 0..4, then ">= 5"


@dataclass
class CollectedReport:
    """One report ready to encode: which schema, the record, and what the user should know.

    `withheld` counts the broker configuration keys the privacy filter kept out of the
    report, `withheld_jvm` the observed JVM properties and `-D` flags it kept out (all of
    them in a basic report); counts only, never names."""

    schema: str  # "basic" | "enhanced"
    record: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    withheld: int = 0
    withheld_jvm: int = 0


# ---- pure helpers (unit tested) ---------------------------------------------------------

def bucket_counts(values: Iterable[int], buckets: int = HISTOGRAM_BUCKETS) -> list[int]:
    """Count values into `buckets` slots: value v goes to min(v, buckets-1); negatives are
    not counted (they mean "unknown")."""
    counts = [0] * buckets
    for v in values:
        if v >= 0:
            counts[min(v, buckets - 1)] += 1
    return counts


def replication_histogram(topics: Mapping[str, Mapping[int, list[int]]]) -> list[int]:
    """Topics by replication factor (the most replicas any of its partitions has)."""
    return bucket_counts(max((len(r) for r in parts.values()), default=0)
                         for parts in topics.values())


def min_isr_histogram(leaders: Mapping[str, Mapping[int, int]], broker_id: int,
                      min_isr: Mapping[str, int]) -> list[int]:
    """Partitions led by `broker_id`, by their topic's `min.insync.replicas`.

    `leaders` is {topic: {partition: leader id}}; topics whose setting is unknown are left
    out rather than guessed.
    """
    return bucket_counts(min_isr[topic]
                         for topic, parts in leaders.items() if topic in min_isr
                         for leader in parts.values() if leader == broker_id)


def unclean_histogram(unclean: Mapping[str, bool]) -> list[int]:
    """Topics by `unclean.leader.election.enable`: [false, true]."""
    values = list(unclean.values())
    return [sum(1 for v in values if not v), sum(1 for v in values if v)]


_SIZE = re.compile(r"^(\d+)([kKmMgGtT]?)$")
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def java_size(text: str) -> int | None:
    """Bytes of a JVM size option value such as `512m`, None when not a size."""
    m = _SIZE.match(text)
    return int(m.group(1)) * _UNITS[m.group(2).lower()] if m else None


def parse_srvr(answer: str) -> dict[str, str]:
    """ZooKeeper's `srvr` answer (`Key: value` lines) as a map."""
    stats: dict[str, str] = {}
    for line in answer.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            stats[key.strip()] = value.strip()
    return stats


# ---- the broker's process on this host --------------------------------------------------

@dataclass(frozen=True)
class BrokerProcess:
    """What /proc says about the broker's JVM."""

    pid: int
    args: list[str]
    start_ms: int


def _boot_time_s() -> int:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return int(line.split()[1])
    raise OSError("no btime in /proc/stat")


def _start_ms(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name is in parentheses and may contain spaces: split after the last ")".
    fields = stat[stat.rindex(")") + 2:].split()
    ticks = int(fields[19])  # field 22 of proc(5): starttime in clock ticks since boot
    hz = os.sysconf("SC_CLK_TCK")
    return _boot_time_s() * 1000 + ticks * 1000 // hz


def _identity(broker: BrokerConfig) -> tuple[object, ...] | None:
    """What tells one broker from another across copies of its file: its id and its
    cluster's address (ZooKeeper connect string, or KRaft's controller quorum)."""
    if broker.broker_id is None:
        return None
    quorum = (broker.zookeeper_connect
              or broker.properties.get("controller.quorum.voters", "").strip()
              or broker.properties.get("controller.quorum.bootstrap.servers", "").strip())
    return (broker.broker_id, quorum) if quorum else None


def _same_broker(config: str, identity: BrokerConfig) -> bool:
    """Whether the config file a JVM was started with names the same broker, for agents
    whose copy of the file lives elsewhere."""
    from engine.config.properties import load_properties
    from engine.files import read_bounded

    try:
        props = load_properties(read_bounded(config, 1024 * 1024).decode("latin-1"))
        theirs = BrokerConfig.from_properties(config, props)
    except (OSError, ValueError, PsError):
        return False
    wanted = _identity(identity)
    return wanted is not None and _identity(theirs) == wanted


def find_broker_process(config_path: str | os.PathLike[str],
                        identity: BrokerConfig | None = None) -> BrokerProcess | None:
    """The local JVM running `kafka.Kafka` for this broker, None when not on this host.

    A JVM matches when its config file is `config_path`, or, given `identity` (the
    broker's config), when its config file names the same broker id in the same cluster.
    """
    wanted = os.path.realpath(config_path)
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    by_identity: BrokerProcess | None = None
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode("utf-8", "replace").split("\0")
        except OSError:
            continue  # gone, or not ours to read
        if "kafka.Kafka" not in args:
            continue
        after = args[args.index("kafka.Kafka") + 1:]
        if not after or not after[0]:
            continue
        config = after[0]
        if not os.path.isabs(config):
            try:
                config = os.path.join(os.readlink(entry / "cwd"), config)
            except OSError:
                continue
        exact = os.path.realpath(config) == wanted
        if not exact and (by_identity is not None or identity is None
                          or not _same_broker(config, identity)):
            continue
        try:
            found = BrokerProcess(int(entry.name), [a for a in args if a],
                                  _start_ms(int(entry.name)))
        except (OSError, ValueError, IndexError):
            continue
        if exact:
            return found
        by_identity = found
    return by_identity


def jvm_max_heap(args: list[str]) -> int:
    """`-Xmx` (or `-XX:MaxHeapSize=`) in bytes; -1 when the JVM picks its own default."""
    found = UNKNOWN
    for arg in args:
        if arg == "kafka.Kafka":
            break
        size = None
        if arg.startswith("-Xmx"):
            size = java_size(arg[4:])
        elif arg.startswith("-XX:MaxHeapSize="):
            size = java_size(arg.split("=", 1)[1])
        if size is not None:
            found = size  # the last one wins, as in the JVM
    return found


def jvm_processors(pid: int, args: list[str]) -> int:
    """What `Runtime.availableProcessors()` sees: `-XX:ActiveProcessorCount`, else the CPU
    affinity of the process. (Cgroup CPU quotas could lower the JVM's figure further; they
    are not read here, so in a CPU-limited container this is an upper bound.)"""
    for arg in args:
        if arg.startswith("-XX:ActiveProcessorCount="):
            try:
                return int(arg.split("=", 1)[1])
            except ValueError:
                break
    try:
        return len(os.sched_getaffinity(pid))
    except OSError:
        return UNKNOWN


def system_properties(args: list[str]) -> dict[str, str]:
    """The `-Dkey=value` flags given to the JVM (before the main class), unfiltered."""
    props: dict[str, str] = {}
    for arg in args:
        if arg == "kafka.Kafka":
            break
        if arg.startswith("-D") and len(arg) > 2:
            key, _, value = arg[2:].partition("=")
            props[key] = value
    return props


def kafka_home_from_classpath(args: list[str]) -> str | None:
    """The folder of the Kafka jars on the broker's classpath, None when not visible."""
    for i, arg in enumerate(args[:-1]):
        if arg in ("-cp", "-classpath", "--class-path"):
            for entry in args[i + 1].split(os.pathsep):
                folder = entry[:-2] if entry.endswith("/*") else os.path.dirname(entry)
                if folder and version_from_home(folder):
                    return folder
    return None


# ---- collection --------------------------------------------------------------------------

@dataclass
class _ClusterFacts:
    cluster_id: str | None = None
    topics_zk: int = UNKNOWN
    # {topic: {partition: replicas}} and {topic: {partition: leader}}
    replicas: dict[str, dict[int, list[int]]] | None = None
    leaders: dict[str, dict[int, int]] | None = None
    broker_address: tuple[str, int] | None = None
    broker_hosts: set[str] = field(default_factory=set)
    min_isr: dict[str, int] | None = None
    unclean: dict[str, bool] | None = None


def _from_zookeeper(session: ClusterSession, facts: _ClusterFacts,
                    warnings: list[str]) -> None:
    from kazoo.exceptions import KazooException, NoNodeError

    from engine.cluster.znodes import parse_cluster_id
    from engine.errors import PsError

    try:
        zk = session.zookeeper()
        try:
            facts.cluster_id = parse_cluster_id(zk.get("/cluster/id")[0])
        except NoNodeError:
            pass
        try:
            facts.topics_zk = len(zk.get_children("/brokers/topics"))
        except NoNodeError:
            facts.topics_zk = 0
    except (PsError, KazooException) as exc:
        warnings.append(f"ZooKeeper not read: {exc}")


def _from_admin(session: ClusterSession, broker_id: int, enhanced: bool,
                facts: _ClusterFacts, warnings: list[str]) -> None:
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import ConfigResource, ResourceType

    from engine.errors import PsError

    try:
        admin = session.admin()
        md = admin.list_topics(timeout=session.timeout)
    except (PsError, KafkaException) as exc:
        warnings.append(f"Kafka metadata not read: {exc}")
        return
    if md.cluster_id:
        facts.cluster_id = facts.cluster_id or md.cluster_id
    me = md.brokers.get(broker_id)
    if me is not None and me.host:
        facts.broker_address = (me.host, me.port)
    facts.broker_hosts = {str(b.host) for b in md.brokers.values() if b.host}
    topics = [t for t in md.topics.values() if t.topic]
    facts.replicas = {str(t.topic): {p.id: list(p.replicas) for p in t.partitions.values()}
                      for t in topics}
    facts.leaders = {str(t.topic): {p.id: p.leader for p in t.partitions.values()}
                     for t in topics}
    if not enhanced or not md.topics:
        return
    resources = [ConfigResource(ResourceType.TOPIC, name) for name in md.topics]
    min_isr: dict[str, int] = {}
    unclean: dict[str, bool] = {}
    try:
        futures = admin.describe_configs(resources, request_timeout=session.timeout)
        for resource, future in futures.items():
            # librdkafka ends the request at its request_timeout; waiting twice as long
            # means the client is never dropped with the request still in flight.
            entries = future.result(timeout=session.timeout * 2)
            if "min.insync.replicas" in entries:
                min_isr[resource.name] = int(entries["min.insync.replicas"].value)
            if "unclean.leader.election.enable" in entries:
                value = str(entries["unclean.leader.election.enable"].value).lower()
                unclean[resource.name] = value == "true"
    except (KafkaException, ValueError, TypeError) as exc:
        warnings.append(f"topic configurations not read: {exc}")
        return
    facts.min_isr, facts.unclean = min_isr, unclean


def _four_letter(host: str, port: int, word: bytes, timeout: float) -> str:
    chunks: list[bytes] = []
    total = 0
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(word)
        # The server closes after answering; the size cap bounds the loop on a bad peer.
        while total < 65536:
            data = s.recv(4096)
            if not data:
                break
            chunks.append(data)
            total += len(data)
    return b"".join(chunks).decode("utf-8", "replace")


def zookeeper_stats(session: ClusterSession, forbidden: Iterable[str],
                    warnings: list[str]) -> list[dict[str, str]] | None:
    """One scrubbed `srvr` map per ZooKeeper server that answers; None when none does."""
    zk = session.location.zookeeper
    if zk is None:
        return None
    banned = set(forbidden) | {h for h, _ in zk.hosts}
    result: list[dict[str, str]] = []
    for n, (host, port) in enumerate(zk.hosts, 1):
        try:
            answer = _four_letter(host, port, b"srvr", min(session.timeout, 5.0))
        except OSError as exc:
            warnings.append(f"ZooKeeper server {n}: srvr failed ({exc.strerror or exc})")
            continue
        stats = parse_srvr(answer)
        if not stats:
            # ZooKeeper answers "srvr is not executed because it is not in the whitelist."
            warnings.append(f"ZooKeeper server {n}: srvr not answered (4lw whitelist?)")
            continue
        result.append(scrub_stats(stats, banned))
    return result or None


def collect(broker_id: int, settings_file: SettingsFile, session: ClusterSession, token: str,
            state: int = STATE_RUNNING, kafka_home: str | None = None,
            now: float | None = None) -> CollectedReport:
    """Collect one report for `broker_id` whose config is `settings_file`.

    Never fails because Kafka or ZooKeeper is down: what cannot be read becomes `-1`,
    "NA" or a warning, so an agent can still spool the report.
    """
    warnings: list[str] = []
    effective = settings_file.effective
    cid_setting = effective[ps_settings.CUSTOMER_ID]
    if cid_setting.problem:
        warnings.append(f"customer id {cid_setting.raw!r} is invalid ({cid_setting.problem});"
                        " sending an anonymous report")
    kind = customer_id_kind(str(cid_setting.value))
    enhanced = kind in ("test", "customer")
    now_s = time.time() if now is None else now

    facts = _ClusterFacts()
    if session.has_zookeeper:
        _from_zookeeper(session, facts, warnings)
    _from_admin(session, broker_id, enhanced, facts, warnings)

    config_path = getattr(settings_file, "path", None)
    process = (find_broker_process(config_path, settings_file.broker)
               if config_path else None)
    home = kafka_home or (kafka_home_from_classpath(process.args) if process else None)

    kafka_version, cp_version = _versions(home, kafka_home, facts, session, warnings)
    basic: dict[str, Any] = {
        "timestamp": int(now_s),
        "kafkaVersion": kafka_version,
        "confluentPlatformVersion": cp_version,
        "collectorState": int(state),
        "brokerProcessUUID": token,
        "clusterId": facts.cluster_id or "NA",
    }
    if not enhanced:
        # Nothing of the configuration or the JVM is in a basic report.
        jvm = (len(runtime_properties(process.pid)) + len(system_properties(process.args))
               if process else 0)
        return CollectedReport("basic", basic, warnings,
                               withheld=len(settings_file.properties), withheld_jvm=jvm)

    report = CollectedReport("enhanced", {}, warnings)
    report.record = _enhanced(broker_id, settings_file, session, basic, facts, process, now_s,
                              report)
    return report


def _versions(home: str | None, given_home: str | None, facts: _ClusterFacts,
              session: ClusterSession, warnings: list[str]) -> tuple[str, str | None]:
    if home:
        version = version_from_home(home)
        if version:
            return version, confluent_version_from_home(home)
        if given_home:
            warnings.append(f"no Kafka jar found in {given_home}; asking the broker")
    if facts.broker_address is not None:
        from engine.errors import PsError

        try:
            host, port = facts.broker_address
            return probe_kafka_version(host, port, session.location.client.props,
                                       min(session.timeout, 5.0)), None
        except PsError as exc:
            warnings.append(f"Kafka version probe failed: {exc}")
    else:
        warnings.append("the broker's address is unknown; Kafka version not probed")
    return "unknown", None


def _enhanced(broker_id: int, settings_file: SettingsFile, session: ClusterSession,
              basic: dict[str, Any], facts: _ClusterFacts, process: BrokerProcess | None,
              now_s: float, report: CollectedReport) -> dict[str, Any]:
    warnings = report.warnings
    topics = set(facts.replicas or ())
    props = settings_file.properties
    forbidden = topics | facts.broker_hosts | hosts_named_in(props)
    broker_config, report.withheld = scrub_broker_config(props, forbidden=forbidden)

    if process is None:
        warnings.append("the broker's JVM does not run on this host (or is not visible): "
                        "JVM figures are -1")
        start_ms = uptime_ms = max_heap = UNKNOWN
        processors = UNKNOWN
        java_props = None
    else:
        start_ms = process.start_ms
        uptime_ms = max(0, int(now_s * 1000) - start_ms)
        max_heap = jvm_max_heap(process.args)
        processors = jvm_processors(process.pid, process.args)
        java_props, report.withheld_jvm = scrub_java_properties(
            runtime_properties(process.pid), system_properties(process.args))

    if facts.replicas is None:
        unknown_hist = [UNKNOWN] * HISTOGRAM_BUCKETS
        repl_hist, number_topics, number_partitions, num_partitions = (
            unknown_hist, UNKNOWN, UNKNOWN, UNKNOWN)
    else:
        repl_hist = replication_histogram(facts.replicas)
        number_topics = len(facts.replicas)
        number_partitions = sum(len(p) for p in facts.replicas.values())
        num_partitions = sum(1 for parts in facts.replicas.values()
                             for replicas in parts.values() if broker_id in replicas)
    if facts.min_isr is None or facts.leaders is None:
        min_isr_hist = [UNKNOWN] * HISTOGRAM_BUCKETS
    else:
        min_isr_hist = min_isr_histogram(facts.leaders, broker_id, facts.min_isr)
    unclean_hist = (unclean_histogram(facts.unclean) if facts.unclean is not None
                    else [UNKNOWN, UNKNOWN])

    return {
        "timestamp": basic["timestamp"],
        "jvmStartTimeMs": start_ms,
        "jvmUptimeMs": uptime_ms,
        "clusterId": basic["clusterId"],
        "brokerId": int(broker_id),
        "kafkaVersion": basic["kafkaVersion"],
        "confluentPlatformVersion": basic["confluentPlatformVersion"],
        "collectorState": basic["collectorState"],
        "brokerProcessUUID": basic["brokerProcessUUID"],
        "brokerMetrics": {
            "brokerConfiguration": broker_config,
            "javaSystemProperties": java_props,
            "jvmRuntimeEnvironment": {
                "availableProcessors": processors,
                # Free and committed heap live inside the JVM (JMX); RSS is not the same
                # figure, so both stay unmeasured.
                "freeMemoryBytes": UNKNOWN,
                "maxMemoryBytes": max_heap,
                "totalMemoryBytes": UNKNOWN,
            },
            "brokerStatistics": {
                # Byte counters and rates are JMX meters inside the broker.
                "writtenBytes": UNKNOWN,
                "readBytes": UNKNOWN,
                "bytesInRate": float(UNKNOWN),
                "bytesOutRate": float(UNKNOWN),
                "numPartitions": num_partitions,
            },
        },
        "clusterMetrics": {
            "replicationHistogram": repl_hist,
            "minIsrHistogram": min_isr_hist,
            "numberTopics": number_topics,
            "numberPartitions": number_partitions,
            "numberTopicsZk": facts.topics_zk,
            "zookeeperStats": zookeeper_stats(session, forbidden, warnings),
            "uncleanLeaderElectionHistogram": unclean_hist,
        },
    }
