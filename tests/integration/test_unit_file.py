"""The systemd unit shipped in the package starts a working agent.

The test reads `ExecStart=` from the packaged `ps-console-agent@.service`, expands it the
way systemd does (specifiers, `${VAR}` as one word, `$VAR` split on white space) with test
values in place of the host's paths, runs that exact command against the sandbox, sees the
first report in the topic, then stops it as systemd would (KillSignal) and expects a clean
exit within the unit's TimeoutStopSec. On both kinds: beside a Kafka 4.x KRaft broker the
unit runs unchanged, and the broker's file alone (its client listener) leads to the cluster.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path

from engine.cluster.session import ClusterSession
from engine.reading.reports import latest_per_broker
from tests.support.cluster import location
from tests.support.ps_report_helpers import broker_config_copy, delete_topics, unique_topic

# Where the unit expects things on a host, and what stands in for them here.
HOST_BIN = "/opt/ps-console/bin/"
HOST_CONFIG_DIR = "/etc/kafka/"


def unit_text() -> str:
    return (files("engine.reporting") / "deploy" / "ps-console-agent@.service").read_text()


def unit_settings(text: str) -> dict[str, list[str]]:
    """Every `Key=value` of the [Service] section; a key may repeat (Environment=)."""
    out: dict[str, list[str]] = {}
    section = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def seconds(value: str) -> float:
    """A systemd time span of the simple kinds units use: `20`, `20s`, `1min 30s`."""
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*(ms|s|sec|min|m|h)?", value):
        total += float(number) * {"ms": 0.001, "min": 60, "m": 60, "h": 3600}.get(unit, 1)
    return total


def expand_exec(line: str, instance: str, env: dict[str, str]) -> list[str]:
    """systemd's ExecStart= expansion for what this unit uses: `%i`/`%%`, `${VAR}` within
    a word, and `$VAR` standing alone, which becomes zero or more words."""
    line = line.replace("%%", "\0").replace("%i", instance).replace("\0", "%")
    words: list[str] = []
    for word in shlex.split(line):
        alone = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if alone:
            words.extend(env.get(alone.group(1), "").split())
            continue
        words.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}",
                            lambda m: env.get(m.group(1), ""), word))
    return words


def test_unit_declares_what_issue_9_asks():
    settings = unit_settings(unit_text())
    assert settings["User"] == ["ps-console-agent"]
    assert settings["Restart"] == ["on-failure"]
    assert settings["ProtectSystem"] == ["strict"]  # read-only everywhere ...
    assert settings["StateDirectory"] == ["ps-console-agent/%i"]  # ... but its state folder
    assert settings["KillSignal"] == ["SIGTERM"]
    assert settings["StandardError"] == ["journal"]
    # A usage error (bad settings file) does not heal by restarting every 30 s.
    assert "2" in settings["RestartPreventExitStatus"][0].split()


def test_agent_started_as_the_unit_does(cluster, tmp_path):
    settings = unit_settings(unit_text())
    (exec_start,) = settings["ExecStart"]
    instance = "server-unit-test"
    topic = unique_topic("ps-unit")
    broker_id = cluster.broker_ids[-1]
    config = broker_config_copy(cluster, broker_id, tmp_path, {
        "confluent.support.metrics.topic": topic,
        "confluent.support.metrics.endpoint.secure.enable": "false",
        "confluent.support.metrics.endpoint.insecure.enable": "false"})
    if cluster.kraft:  # nothing but the KRaft broker's own file names the cluster
        assert "zookeeper.connect" not in config.read_text()
        assert "process.roles=broker" in config.read_text()
    config.rename(tmp_path / f"{instance}.properties")
    state = tmp_path / "state"
    state.mkdir()
    # What systemd puts in the environment: the unit's Environment= lines, then the ones
    # an operator would put in /etc/default/ps-console-agent-<instance>.
    env = {k: v for k, v in (e.split("=", 1) for e in settings["Environment"])}
    env.update(KAFKA_HOME=str(cluster.kafka_home), STATE_DIRECTORY=str(state),
               PS_AGENT_ARGS="--interval-seconds 2")
    cmd = expand_exec(exec_start, instance, env)
    assert cmd[0].startswith(HOST_BIN) and HOST_CONFIG_DIR + instance + ".properties" in cmd
    bin_dir = Path(sys.executable).parent
    cmd = [str(bin_dir / c[len(HOST_BIN):]) if c.startswith(HOST_BIN) else
           str(tmp_path / c[len(HOST_CONFIG_DIR):]) if c.startswith(HOST_CONFIG_DIR) else c
           for c in cmd]
    assert Path(cmd[0]).exists(), f"{cmd[0]} is not installed: run `make venv`"
    log_path = tmp_path / "agent.log"
    target = location(**cluster.where, timeout=10)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                env=dict(os.environ, **env))
    try:
        first = None
        deadline = time.monotonic() + 90
        while first is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(1)
            try:
                with ClusterSession(target) as session:
                    found = latest_per_broker(session, topic, broker_ids=[broker_id])
            except Exception:  # noqa: BLE001 - the topic does not exist until the first report
                continue
            first = next((r for r in found if r.broker_id == broker_id), None)
        assert first is not None, log_path.read_text()
        assert first.ok and first.state == 2
        assert first.kafka_version == cluster.version  # from KAFKA_HOME
        assert str(state) in log_path.read_text()  # the spool/state went where systemd said

        proc.send_signal(getattr(signal, settings["KillSignal"][0]))
        code = proc.wait(timeout=seconds(settings["TimeoutStopSec"][0]))
        assert code == 0, log_path.read_text()
        with ClusterSession(target) as session:
            last = next(r for r in latest_per_broker(session, topic, broker_ids=[broker_id])
                        if r.broker_id == broker_id)
        assert last.state == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        delete_topics(cluster.bootstrap, topic)
