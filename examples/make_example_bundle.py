#!/usr/bin/env python3
"""Regenerate `examples/support-metrics-example.zip` (`make example-bundle`).

The bundle is made the way an operator's would be: by this project's own agents (real
`ps-console agent` processes) reporting on a real 3-broker cluster (a private sandbox in
`.sandbox/example`, stopped at the end), exported with the engine's `export_bundle`.

What happens, in this order, and therefore what the bundle shows:

1. three agents start; broker 1 is anonymous (Basic reports), brokers 2 and 3 carry the
   test customer id `c0` (Enhanced reports, which name their broker);
2. broker 2 restarts: its agent issues a new broker token;
3. broker 1's customer id changes from `anonymous` to `c0` with `ps-console settings set`;
   its agent picks the change up without a restart and sends Enhanced reports from then on;
4. broker 3's agent is stopped (SIGTERM) and sends its shutdown report (`collectorState=1`);
5. the topic is exported while the two other agents still run;
6. one damaged entry is appended on purpose (the first half of a real report: a truncated
   Avro container), named like the others, and the archive comment says which one it is.

The timeline is compressed: agents report every few seconds for a few minutes, where a
real fleet reports every 24 hours for days. Nothing is faked: every timestamp is the real
time the report was made. Both HTTP endpoints are disabled, so nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from engine.cluster.location import ClusterOptions, locate
from engine.cluster.session import ClusterSession
from engine.reading import rules
from engine.reading.bundle import export_bundle, open_bundle
from engine.reading.report import STATE_SHUTTING_DOWN
from tools.sandbox import kafka_sandbox as sandbox

REPO = Path(__file__).resolve().parent.parent

OUT = REPO / "examples" / "support-metrics-example.zip"
STATE = REPO / ".sandbox" / "example"
TOPIC = "__confluent.support.metrics"
INTERVAL_SECONDS = 8
PS_CONSOLE = str(Path(sys.executable).with_name("ps-console"))
# Generous bounds for each step on a loaded 2-core machine; the script fails rather than
# wait forever.
STEP_TIMEOUT = 120.0


def say(text: str) -> None:
    print(f"example-bundle: {text}", file=sys.stderr, flush=True)


class Agent:
    """One real `ps-console agent` process, its log in a file."""

    def __init__(self, broker_id: int, config: Path, kafka_home: Path) -> None:
        self.broker_id = broker_id
        self.log_path = STATE / f"agent-{broker_id}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [PS_CONSOLE, "agent", "--broker-config", str(config),
             "--kafka-home", str(kafka_home), "--interval-seconds", str(INTERVAL_SECONDS),
             "--state-dir", str(STATE / f"agent-{broker_id}")],
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def delivered(self, pattern: str = "") -> int:
        """Reports of this agent that reached the topic, whose log line matches `pattern`."""
        text = self.log_path.read_text(errors="replace")
        return sum(1 for line in re.findall(r"report broker=\d+ .*", text)
                   if "topic=ok" in line and re.search(pattern, line))

    def wait(self, pattern: str, count: int, what: str) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT
        while self.delivered(pattern) < count:
            if self.proc.poll() is not None:
                raise SystemExit(f"agent {self.broker_id} exited; see {self.log_path}")
            if time.monotonic() > deadline:
                raise SystemExit(f"{what}: not seen within {STEP_TIMEOUT:.0f} s; "
                                 f"see {self.log_path}")
            time.sleep(0.5)

    def terminate(self) -> int | None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            return None
        finally:
            self._log.close()


def agent_config(source: str, broker_id: int, customer_id: str) -> Path:
    """A copy of the broker's server.properties with Proactive Support settings."""
    text = Path(source).read_text() + (
        "\n# Confluent Proactive Support\n"
        "confluent.support.metrics.enable=true\n"
        f"confluent.support.customer.id={customer_id}\n"
        f"confluent.support.metrics.topic={TOPIC}\n"
        "confluent.support.metrics.report.interval.hours=24\n"
        "confluent.support.metrics.endpoint.secure.enable=false\n"
        "confluent.support.metrics.endpoint.insecure.enable=false\n")
    path = STATE / f"server-{broker_id}.properties"
    path.write_text(text)
    return path


def damage(path: Path, started: float, finished: float) -> str:
    """Append one damaged entry named like the others; describe the bundle in its comment."""
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        first = zf.read(names[0])
        meta = json.loads(zf.comment.decode())
    name = f"{path.name}.{len(names)}"
    meta["example"] = {
        "made_by": "examples/make_example_bundle.py",
        "timeline": f"compressed: agents reported every {INTERVAL_SECONDS} s for "
                    f"{(finished - started) / 60:.1f} minutes (a real fleet: every 24 h)",
        "events": ["broker 2 restarted (new broker token)",
                   "broker 1: customer id anonymous -> c0 (Enhanced reports follow)",
                   "broker 3: agent stopped (shutdown report, collectorState=1)"],
        "damaged_on_purpose": [{"entry": name,
                                "what": "the first half of entry 0: a truncated Avro "
                                        "container"}],
    }
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_STORED) as zf:
        info = zipfile.ZipInfo(name, date_time=time.gmtime(finished)[:6])
        info.external_attr = 0o100644 << 16
        zf.writestr(info, first[:len(first) // 2])
        zf.comment = json.dumps(meta, separators=(",", ":")).encode()
    return name


def verify(path: Path, damaged: str) -> None:
    """The bundle shows every event it is meant to show, or the script fails."""
    opened = open_bundle(str(path))
    bad = [e.entry for e in opened.entries if not e.ok]
    problems = []
    if bad != [damaged]:
        problems.append(f"undecodable entries {bad}, expected only {damaged}")
    ids = {e.broker_id for e in opened.entries if e.attributed_by == "enhanced"}
    if not {1, 2, 3} <= ids:
        problems.append(f"Enhanced reports name brokers {sorted(i for i in ids if i)}")
    seen = {(subject.broker_id, event.kind)
            for subject, history in rules.histories(opened.entries).items()
            if subject is not None for event in rules.events(history)}
    if (2, rules.RESTART) not in seen:
        problems.append("broker 2 has one token: the restart does not show")
    if (1, rules.SCHEMA_CHANGE) not in seen:
        problems.append("broker 1 does not go from Basic (anonymous) to Enhanced")
    stops = [e for e in opened.entries if e.state == STATE_SHUTTING_DOWN]
    if len(stops) != 1 or stops[0].broker_id != 3:
        problems.append(f"{len(stops)} shutdown reports, expected one from broker 3")
    if problems:
        raise SystemExit("the bundle is not what it should be: " + "; ".join(problems))


def main() -> int:
    box = sandbox.Sandbox(STATE / "cluster")
    if box.is_running():
        box.stop()
    agents: dict[int, Agent] = {}
    try:
        say("starting a private sandbox: ZooKeeper + 3 brokers ...")
        state = box.start(brokers=3, mode="zk")
        facts = state.facts()
        started = time.time()
        kafka_home = sandbox.lib_dir()
        configs = {}
        for broker in state.brokers:
            broker_id = int(broker.name.split("-")[1])
            configs[broker_id] = agent_config(broker.config, broker_id,
                                              "anonymous" if broker_id == 1 else "c0")
            agents[broker_id] = Agent(broker_id, configs[broker_id], kafka_home)
        for agent in agents.values():
            agent.wait("", 2, f"two reports of broker {agent.broker_id}")

        say("restarting broker 2 (its agent issues a new token) ...")
        box.stop_broker(2)
        box.start_broker(2)
        before = agents[2].delivered()
        agents[2].wait("", before + 2, "two reports of broker 2 after its restart")

        say("broker 1: customer id anonymous -> c0 (no agent restart) ...")
        subprocess.run([PS_CONSOLE, "settings", "set", "--broker-config",
                        str(configs[1]), "confluent.support.customer.id=c0"],
                       check=True, timeout=60, stdout=subprocess.DEVNULL)
        agents[1].wait("schema=enhanced", 2, "two Enhanced reports of broker 1")

        say("stopping broker 3's agent (its shutdown report) ...")
        code = agents.pop(3).terminate()
        if code != 0:
            raise SystemExit(f"agent 3 exited with {code}; see {STATE / 'agent-3.log'}")
        for broker_id in (1, 2):
            before = agents[broker_id].delivered()
            agents[broker_id].wait("", before + 1, f"one more report of broker {broker_id}")

        say("exporting the topic ...")
        target = locate(ClusterOptions(zookeeper=facts["KAFKA_ZK_CONNECT"], timeout=10))
        with tempfile.TemporaryDirectory() as tmp, ClusterSession(target) as session:
            path = Path(tmp) / OUT.name
            result = export_bundle(session, TOPIC, path=str(path), runtime=60)
            if not result.complete:
                raise SystemExit("the export did not read the whole topic")
            damaged = damage(path, started, time.time())
            verify(path, damaged)
            shutil.copyfile(path, OUT)
        say(f"wrote {OUT.relative_to(REPO)}: {result.records} reports + 1 damaged entry, "
            f"{OUT.stat().st_size:,} bytes")
        return 0
    finally:
        for agent in agents.values():
            agent.terminate()
        box.stop()


if __name__ == "__main__":
    sys.exit(main())
