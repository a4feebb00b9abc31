"""Which Kafka each sandbox kind runs, and fetching its jars from Maven Central once.

ZooKeeper mode stays on 3.9 (the last line with ZooKeeper); KRaft mode runs 4.x. Each
version has a lib folder of its own (`.sandbox/lib/kafka-<version>`): 3.9 and 4.x jars never
share a classpath. `pom.xml` fetches 3.x with reload4j, `pom-kafka4.xml` fetches 4.x with
log4j2.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tools.sandbox.errors import SandboxError

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CACHE = Path(os.environ.get("PS_SANDBOX_CACHE", REPO / ".sandbox"))

# Not KAFKA_VERSION: that is one of the facts `env` prints, and a shell that evaluated them
# would otherwise start its next ZooKeeper sandbox on a KRaft-only release.
ZK_VERSION = os.environ.get("PS_SANDBOX_ZK_VERSION", "3.9.2")
KRAFT_VERSION = os.environ.get("PS_SANDBOX_KRAFT_VERSION", "4.4.0")
VERSIONS = {"zk": ZK_VERSION, "kraft": KRAFT_VERSION}

# Maven runs once per version; a slow mirror gets this long before the fetch gives up.
FETCH_TIMEOUT = 900.0
# How often a first download says how far it got.
PROGRESS_EVERY = 10.0


def major(version: str) -> int:
    """3 for "3.9.2"; a version that does not start with a number is refused."""
    head = version.split(".", 1)[0]
    if not head.isdigit():
        raise SandboxError(f"not a Kafka version: {version!r}")
    return int(head)


def version_for(mode: str) -> str:
    """The Kafka version a sandbox of `mode` ("zk" or "kraft") runs."""
    try:
        return VERSIONS[mode]
    except KeyError:
        raise SandboxError(f"unknown mode {mode!r}: use zk or kraft") from None


def lib_dir(version: str = ZK_VERSION) -> Path:
    """The folder that holds every jar of `version` (`java -cp 'lib/*'`)."""
    return CACHE / "lib" / f"kafka-{version}"


def _pom(version: str) -> Path:
    return HERE / ("pom-kafka4.xml" if major(version) >= 4 else "pom.xml")


def _needed(version: str) -> list[str]:
    """Jars whose absence means Maven fetched the wrong thing (patterns in the lib folder)."""
    if major(version) >= 4:
        # 4.x has no ZooKeeper; it logs through log4j2 with the slf4j 1.7 binding.
        return [f"kafka_2.13-{version}.jar", "log4j-slf4j-impl-*.jar", "log4j-core-*.jar"]
    return [f"kafka_2.13-{version}.jar", "zookeeper-3.8.*.jar", "reload4j-*.jar"]


def fetch(version: str = ZK_VERSION, quiet: bool = False) -> Path:
    """Download Kafka `version` and its runtime dependencies once; later calls fetch nothing.

    The first fetch always says what it downloads (a minute of silence looks like a hang);
    `quiet` only hides the "already there" line. A lock file keeps two sandboxes that start
    at once from filling the same folder together.
    """
    lib = lib_dir(version)
    marker = lib / ".complete"
    if marker.exists():
        if not quiet:
            print(f"# kafka {version} already in {lib}", file=sys.stderr)
        return lib
    lib.parent.mkdir(parents=True, exist_ok=True)
    with open(lib.parent / f".kafka-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():  # fetched by whoever held the lock before us
            return lib
        _run_maven(version, lib)
        marker.touch()
    return lib


def _folder_mb(folder: Path) -> float:
    total = 0
    for path in folder.rglob("*"):
        try:
            total += path.stat().st_size
        except OSError:
            continue  # Maven renames files as it goes
    return total / 1e6


def _run_with_progress(cmd: list[str], repo: Path) -> subprocess.CompletedProcess[str]:
    """Run Maven, saying every PROGRESS_EVERY seconds how much it fetched so far: `-q`
    Maven prints nothing for minutes, which looks like a hang. Bounded by FETCH_TIMEOUT."""
    started = time.monotonic()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          stdin=subprocess.DEVNULL) as proc:
        while True:
            try:
                output, _ = proc.communicate(timeout=PROGRESS_EVERY)
                break
            except subprocess.TimeoutExpired:
                elapsed = time.monotonic() - started
                if elapsed > FETCH_TIMEOUT:
                    proc.kill()
                    proc.communicate()
                    raise
                print(f"# ... {_folder_mb(repo):.0f} MB fetched, {elapsed:.0f} s",
                      file=sys.stderr, flush=True)
    return subprocess.CompletedProcess(cmd, proc.returncode, output or "", "")


def _run_maven(version: str, lib: Path) -> None:
    if shutil.which("mvn") is None:
        raise SandboxError("Maven (mvn) is not on PATH: it is needed once to fetch Kafka")
    print(f"# downloading Apache Kafka {version} and its dependencies from Maven Central "
          f"into {lib} (once)", file=sys.stderr, flush=True)
    cmd = ["mvn", "-B", "-q", "-f", str(_pom(version)),
           f"-Dkafka.version={version}", f"-Dkafka.lib.dir={lib}",
           f"-Dmaven.repo.local={CACHE / 'm2'}", "dependency:copy-dependencies"]
    try:
        done = _run_with_progress(cmd, CACHE / "m2")
    except subprocess.TimeoutExpired:
        raise SandboxError(f"Maven did not fetch Kafka {version} within "
                           f"{FETCH_TIMEOUT:.0f} s") from None
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
        raise SandboxError(f"Maven could not fetch Kafka {version}:\n{tail}")
    for pattern in _needed(version):
        if not list(lib.glob(pattern)):
            raise SandboxError(f"Maven ran but {pattern} is missing from {lib}")
