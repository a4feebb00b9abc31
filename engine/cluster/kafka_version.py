"""Which Kafka (and Confluent Platform) version a broker runs.

Two sources, best first:

1. The broker's installation (`--kafka-home`): the version is in the jar names
   (`kafka_2.13-3.9.2.jar`, `kafka-clients-3.9.2.jar`), and more precisely inside
   kafka-clients as `kafka/kafka-version.properties`. Both a distribution (`<home>/libs/`)
   and a flat folder of jars (the sandbox's `.sandbox/lib/kafka-3.9.2`) are understood. The
   answer is exact, e.g. "3.9.2".
2. The broker itself, over the Kafka protocol: an ApiVersions v0 request (allowed before
   authentication, so it works on SASL listeners too) returns the highest version of every
   API the broker serves. New API versions arrive with known releases, so the newest marker
   the broker supports names its release line. The answer is a line, never a patch level:
   "3.9.x", or a range such as "3.5.x-3.6.x" where no API version tells the releases apart.

Protocol answers are written `<line>.x` so that nobody mistakes an inference for an exact
version; installation answers are exact.
"""

from __future__ import annotations

import re
import struct
import zipfile
from collections.abc import Mapping
from pathlib import Path

from engine.cluster.kafka_wire import Reader, exchange
from engine.errors import ConnectionFailure

# Kafka's own jar names: the core jar carries the Scala version, the client jar does not.
_CORE_JAR = re.compile(r"^kafka_2\.1\d-(\d+\.\d+\.\d+(?:[.-][\w.]+)?)\.jar$")
_CLIENTS_JAR = re.compile(r"^kafka-clients-(\d+\.\d+\.\d+(?:[.-][\w.]+)?)\.jar$")
# Markers that only a Confluent Platform installation ships.
_CP_MARKERS = (
    re.compile(r"^support-metrics-[a-z-]+-(\d+\.\d+\.\d+)\.jar$"),
    re.compile(r"^confluent-[a-z-]+-(\d+\.\d+\.\d+)\.jar$"),
    re.compile(r"^kafka[_a-z0-9.-]*-(\d+\.\d+\.\d+)-ccs\.jar$"),
)

API_APIVERSIONS = 18
API_PRODUCE = 0
API_FETCH = 1
API_LIST_OFFSETS = 2
API_METADATA = 3
API_DESCRIBE_LOG_DIRS = 35

# (release line label, api key, lowest max version that proves the line), newest first.
# Each marker is the API version a release introduced. For 4.x they were read off each
# release's kafka-clients (ApiKeys, broker listener, stable versions only):
#   ApiVersions v5 (4.4); DescribeLogDirs v5 (4.3); ListOffsets v11 (4.2);
# before, from the version comments of the protocol's message definitions:
#   Fetch v18 adds the high-watermark of KIP-1166 (4.1); Produce v12 is KIP-890 part 2 (4.0);
#   ApiVersions v4 fixes KAFKA-17011 and Fetch v17 adds the KIP-853 directory id (3.9);
#   Produce v11 adds TRANSACTION_ABORTABLE of KIP-890 (3.8); Produce v10 is KIP-951 (3.7);
#   Fetch v15 adds the ReplicaState of KIP-903 (3.5); Fetch v13 brings topic ids (3.1);
#   ListOffsets v7 is the max-timestamp lookup of KIP-734 (3.0); Metadata v10 adds topic
#   ids (2.8); Fetch v12 is KIP-595's flexible fetch (2.7); ApiVersions v3 is KIP-511 (2.4);
#   Fetch v10 allows ZStandard (2.1); Fetch v7 is the incremental fetch of KIP-227 (1.1);
#   Fetch v6 (1.0); Fetch v5 adds the log start offset (0.11); ApiVersions exists (0.10).
RELEASE_MARKERS: tuple[tuple[str, int, int], ...] = (
    ("4.4.x or newer", API_APIVERSIONS, 5),
    ("4.3.x", API_DESCRIBE_LOG_DIRS, 5),
    ("4.2.x", API_LIST_OFFSETS, 11),
    ("4.1.x", API_FETCH, 18),
    ("4.0.x", API_PRODUCE, 12),
    ("3.9.x", API_APIVERSIONS, 4),
    ("3.8.x", API_PRODUCE, 11),
    ("3.7.x", API_PRODUCE, 10),
    ("3.5.x-3.6.x", API_FETCH, 15),
    ("3.1.x-3.4.x", API_FETCH, 13),
    ("3.0.x", API_LIST_OFFSETS, 7),
    ("2.8.x", API_METADATA, 10),
    ("2.7.x", API_FETCH, 12),
    ("2.4.x-2.6.x", API_APIVERSIONS, 3),
    ("2.1.x-2.3.x", API_FETCH, 10),
    ("1.1.x-2.0.x", API_FETCH, 7),
    ("1.0.x", API_FETCH, 6),
    ("0.11.x", API_FETCH, 5),
    ("0.10.x", API_APIVERSIONS, 0),
)



def _jar_dirs(kafka_home: Path) -> list[Path]:
    # A distribution keeps its jars in libs/ (Apache) or share/java/kafka (Confluent);
    # a flat folder of jars is the home itself.
    candidates = [kafka_home, kafka_home / "libs", kafka_home / "share" / "java" / "kafka"]
    return [d for d in candidates if d.is_dir()]


def _version_in_clients_jar(jar: Path) -> str | None:
    """`version=` from kafka/kafka-version.properties inside kafka-clients, if readable."""
    try:
        with zipfile.ZipFile(jar) as zf:
            text = zf.read("kafka/kafka-version.properties").decode("latin-1")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == "version" and value.strip():
            return value.strip()
    return None


def version_from_home(kafka_home: str | Path) -> str | None:
    """The exact Kafka version of an installation, or None when no Kafka jar is found."""
    home = Path(kafka_home)
    core = clients = None
    for folder in _jar_dirs(home):
        for jar in sorted(folder.glob("*.jar")):
            if core is None and (m := _CORE_JAR.match(jar.name)):
                core = m.group(1)
            if clients is None and (m := _CLIENTS_JAR.match(jar.name)):
                clients = _version_in_clients_jar(jar) or m.group(1)
    # The core jar is the broker; kafka-clients alone is good enough when core is absent.
    return core or clients


def confluent_version_from_home(kafka_home: str | Path) -> str | None:
    """The Confluent Platform version of an installation, None for plain Apache Kafka."""
    home = Path(kafka_home)
    folders = _jar_dirs(home)
    share = home / "share" / "java"
    if share.is_dir():
        folders += [d for d in share.iterdir() if d.is_dir()]
    for folder in folders:
        for jar in sorted(folder.glob("*.jar")):
            for marker in _CP_MARKERS:
                if m := marker.match(jar.name):
                    return m.group(1)
    return None


def release_line(api_versions: Mapping[int, tuple[int, int]]) -> str:
    """Name the release line from `{api_key: (min, max)}` of an ApiVersions answer."""
    for label, api_key, min_max in RELEASE_MARKERS:
        versions = api_versions.get(api_key)
        if versions is not None and versions[1] >= min_max:
            return label
    return "0.10.x or older"


def parse_api_versions_v0(payload: bytes) -> dict[int, tuple[int, int]]:
    """Parse an ApiVersions v0 response body (after the correlation id) into
    {api_key: (min, max)}."""
    reader = Reader(payload)
    error = reader.int16()
    if error != 0:
        raise ConnectionFailure(f"ApiVersions refused with error code {error}")
    count = reader.int32()
    if count < 0 or 6 * count > len(payload) - reader.pos:
        raise ConnectionFailure("ApiVersions answer truncated")
    return {key: (lo, hi) for key, lo, hi in
            (struct.unpack_from(">hhh", payload, reader.pos + 6 * i) for i in range(count))}


def fetch_api_versions(host: str, port: int, client_props: Mapping[str, str] | None = None,
                       timeout: float = 5.0) -> dict[int, tuple[int, int]]:
    """Ask one broker for its API versions with a raw ApiVersions v0 request.

    v0 has no tagged fields, so every broker since 0.10 answers it the same way, and it is
    allowed before authentication (so SASL listeners answer it too).
    """
    return parse_api_versions_v0(exchange(host, port, API_APIVERSIONS, 0, b"", client_props,
                                          timeout))


def probe_kafka_version(host: str, port: int, client_props: Mapping[str, str] | None = None,
                        timeout: float = 5.0) -> str:
    """The release line a broker runs, from its ApiVersions answer, e.g. "3.9.x"."""
    return release_line(fetch_api_versions(host, port, client_props, timeout))
