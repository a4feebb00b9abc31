#!/usr/bin/env python3
"""`make demo`: a local Proactive Support installation, then the console on it.

1. ZooKeeper and three Kafka brokers (the project's sandbox, in `.sandbox/demo`);
2. a local report receiver standing in for the phone-home endpoint, so nothing leaves
   the machine;
3. one agent per broker, reporting every 30 s, each with its own copy of the broker's
   `server.properties` carrying the Proactive Support settings (broker 2 has the test
   customer id `c0`, so it sends Enhanced reports);
4. the console, on the cluster and those three settings files.

When the console exits, everything started here is stopped, by pid: the agents first
(their last, shutdown reports still reach the topic and the receiver), then the receiver,
then the cluster. `make sandbox-status` shows the demo's cluster while it runs. Without
Java 17 or Maven, the console opens the example bundle instead (no cluster needed).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tools.sandbox import kafka_sandbox as sandbox

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STATE = REPO / ".sandbox" / "demo"
EXAMPLE = REPO / "examples" / "support-metrics-example.zip"
INTERVAL_SECONDS = 30



def java_problem() -> str | None:
    """Why the live sandbox cannot run here, or None when Java 17+ and Maven are present."""
    java = shutil.which("java")
    if java is None:
        return "Java is not on PATH"
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)', out)
    if match is None or int(match.group(1)) < 17:
        return "Java 17 or newer is needed (found: " + (out.splitlines() or ["?"])[0] + ")"
    if not (sandbox.lib_dir() / ".complete").exists() and shutil.which("mvn") is None:
        return "Maven is not on PATH (needed once to fetch Kafka)"
    return None


def offline(reason: str) -> int:
    print(f"demo: {reason}; opening the example bundle offline instead.", file=sys.stderr)
    if not EXAMPLE.exists():
        print(f"demo: {EXAMPLE.relative_to(REPO)} is missing too; nothing to show.",
              file=sys.stderr)
        return 1
    return subprocess.call([str(BIN / "ps-console"), "open", str(EXAMPLE)])


def agent_config(broker_config: str, broker_id: int, receiver_url: str) -> Path:
    """A copy of the broker's file with the Proactive Support settings for the demo."""
    text = Path(broker_config).read_text()
    customer = "c0" if broker_id == 2 else "anonymous"
    text += (
        "\n# Confluent Proactive Support\n"
        "confluent.support.metrics.enable=true\n"
        f"confluent.support.customer.id={customer}\n"
        "confluent.support.metrics.topic=__confluent.support.metrics\n"
        "confluent.support.metrics.report.interval.hours=24\n"
        "confluent.support.metrics.endpoint.secure.enable=false\n"
        "confluent.support.metrics.endpoint.insecure.enable=true\n"
        f"confluent.support.metrics.endpoint.insecure={receiver_url}\n"
    )
    path = STATE / "agents" / f"broker-{broker_id}.properties"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def wait_for_reports(bootstrap: str, count: int, timeout: float) -> bool:
    """Poll the support topic until `count` brokers have reported (bounded)."""
    from engine.cluster.location import ClusterOptions, locate
    from engine.cluster.session import ClusterSession
    from engine.errors import PsError
    from engine.reading.reports import latest_per_broker

    target = locate(ClusterOptions(bootstrap=bootstrap, timeout=5))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with ClusterSession(target) as session:
                reports = latest_per_broker(session, "__confluent.support.metrics")
        except PsError:
            reports = []  # the first agent creates the topic; until then it is missing
        if len({r.broker_id for r in reports if r.broker_id is not None}) >= count:
            return True
        time.sleep(2)
    return False


def stop_all(children: list[subprocess.Popen]) -> None:
    """SIGTERM each child still running, then wait for all (bounded; SIGKILL after)."""
    for child in children:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main() -> int:
    reason = java_problem()
    if reason is not None:
        return offline(reason)
    box = sandbox.Sandbox(STATE / "cluster")
    if box.is_running():
        box.stop()
    receiver: subprocess.Popen | None = None
    agents: list[subprocess.Popen] = []
    try:
        if not (sandbox.lib_dir() / ".complete").exists():
            print("demo: first run: fetching Apache Kafka from Maven Central once (about 50 MB of "
                  "jars, a few minutes); progress follows ...", file=sys.stderr, flush=True)
        print("demo: starting ZooKeeper and 3 Kafka brokers ...", file=sys.stderr)
        state = box.start(brokers=3, mode="zk")
        facts = state.facts()
        logs = STATE / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        receiver_port = sandbox.free_port()
        receiver_url = f"http://127.0.0.1:{receiver_port}"
        receiver = subprocess.Popen(
            [str(BIN / "ps-console"), "receive", "--listen", f"127.0.0.1:{receiver_port}",
             "--dir", str(STATE / "received")],
            stdout=open(logs / "receiver.log", "ab"), stderr=subprocess.STDOUT,
            start_new_session=True)
        configs = []
        for broker in state.brokers:
            broker_id = int(broker.name.split("-")[1])
            config = agent_config(broker.config, broker_id, receiver_url)
            configs.append(config)
            agents.append(subprocess.Popen(
                [str(BIN / "ps-console"), "agent", "--broker-config", str(config),
                 "--kafka-home", str(sandbox.lib_dir()),
                 "--interval-seconds", str(INTERVAL_SECONDS),
                 "--state-dir", str(STATE / "agents" / f"state-{broker_id}")],
                stdout=open(logs / f"agent-{broker_id}.log", "ab"), stderr=subprocess.STDOUT,
                start_new_session=True))
        print("demo: agents started; waiting for their first reports ...", file=sys.stderr)
        if not wait_for_reports(facts["KAFKA_BOOTSTRAP"], 3, timeout=90):
            print(f"demo: not every agent reported within 90 s; see {logs}", file=sys.stderr)
        console = [str(BIN / "ps-console"), "--zookeeper", facts["KAFKA_ZK_CONNECT"]]
        for config in configs:
            console += ["--broker-config", str(config)]
        print("demo: " + " ".join(console), file=sys.stderr)
        print(f"demo: `make sandbox-status` shows this cluster; logs in {logs}",
              file=sys.stderr)
        return subprocess.call(console)
    except sandbox.SandboxError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        # Agents first: each sends a last (shutdown) report to the topic and to the
        # receiver, which must still be listening; then the receiver; then the cluster.
        stop_all(agents)
        stop_all([receiver] if receiver is not None else [])
        box.stop()
        print("demo: everything the demo started is stopped.", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
