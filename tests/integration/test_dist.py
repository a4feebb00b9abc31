"""The packaged product: the wheel `make dist` builds, installed into a fresh virtual
environment, runs the console, the bundle export and the agent against the sandbox.

One build (`python -m build`: the sdist, then the wheel from the sdist, as `make dist`
does) and one venv per session, both in a temporary folder. Every command runs from that
venv with the working folder outside the repository, so nothing is imported from the
source tree. Dependencies come from PyPI through pip's cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from engine.reading.bundle import open_bundle
from tests.support.ps_report_helpers import broker_config_copy, delete_topics, unique_topic
from tests.support.pty_console import run_on_pty

REPO = Path(__file__).resolve().parents[2]
KAFKA_HOME = REPO / ".sandbox" / "lib" / "kafka-3.9.2"
# What the installed package cannot run without.
RUNTIME_DATA = ("engine/reporting/schemas/SupportKafkaMetricsBasic.avsc",
                "engine/reporting/schemas/SupportKafkaMetricsEnhanced.avsc",
                "engine/reporting/deploy/ps-console-agent@.service", "tui/styles/app.tcss",
                "engine/reporting/kafka_configs/broker-3.9.json",
                "engine/reporting/kafka_configs/broker-4.x.json")

pytestmark = pytest.mark.sandbox


class Installed:
    """The built wheel and sdist, and a fresh venv with the wheel installed."""

    def __init__(self, root: Path, wheel: Path, sdist: Path, build_s: float,
                 install_s: float) -> None:
        self.root = root
        self.wheel = wheel
        self.sdist = sdist
        self.build_s = build_s
        self.install_s = install_s
        self.bin = root / "venv" / "bin"
        self.work = root / "work"  # the working folder of every command: not the repo
        self.work.mkdir(exist_ok=True)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
        path = [p for p in env.get("PATH", "").split(os.pathsep)
                if Path(p).resolve() != Path(sys.executable).parent.resolve()]
        env["PATH"] = os.pathsep.join([str(self.bin), *path])
        env["HOME"] = str(self.root / "home")  # no user config or state of the developer
        return env

    def run(self, *cmd: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.bin / cmd[0]), *cmd[1:]], capture_output=True,
                              text=True, timeout=timeout, env=self.env(), cwd=self.work)


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> Installed:
    root = tmp_path_factory.mktemp("dist")
    started = time.monotonic()
    built = subprocess.run([sys.executable, "-m", "build", "--outdir", str(root / "dist"),
                            str(REPO)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    build_s = time.monotonic() - started
    wheel = next((root / "dist").glob("ps_console-*.whl"))
    sdist = next((root / "dist").glob("ps_console-*.tar.gz"))
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True,
                   timeout=300)
    pip = subprocess.run([str(root / "venv" / "bin" / "python"), "-m", "pip", "install",
                          "--disable-pip-version-check", str(wheel)],
                         capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    install_s = time.monotonic() - started
    print(f"\ndist: build {build_s:.1f} s, venv + install {install_s:.1f} s", file=sys.stderr)
    return Installed(root, wheel, sdist, build_s, install_s)


def test_wheel_holds_the_runtime_data_and_no_tests(installed):
    names = zipfile.ZipFile(installed.wheel).namelist()
    for needed in RUNTIME_DATA:
        assert needed in names
    top = {name.split("/", 1)[0] for name in names}
    assert top == {"engine", "cli", "tui", installed.wheel.name.split("-")[0] + "-"
                   + installed.wheel.name.split("-")[1] + ".dist-info"}, top
    entry_points = zipfile.ZipFile(installed.wheel).read(
        next(n for n in names if n.endswith("entry_points.txt"))).decode()
    for script in ("ps-console =", "support-metrics-bundle =", "ps-console-agent ="):
        assert script in entry_points


def test_installed_package_is_the_wheel_not_the_source_tree(installed):
    done = installed.run("python", "-c", "import engine, tui; print(engine.__file__); "
                                         "print(tui.__file__)")
    assert done.returncode == 0, done.stderr
    for line in done.stdout.split():
        assert Path(line).is_relative_to(installed.root / "venv"), line


def test_the_installed_privacy_filter_reads_kafkas_definitions(installed):
    done = installed.run("python", "-c", "from engine.reporting.privacy import kafka_definitions as k; "
                                         "d = k(); print(' '.join(d.versions), len(d.keys))")
    assert done.returncode == 0, done.stderr
    versions, _, count = done.stdout.strip().rpartition(" ")
    assert versions.startswith("3.9.2 4.") and int(count) > 300


def test_the_wheel_is_pure_python_with_its_three_packages(installed):
    """No compiled code: one wheel for every platform, holding engine, cli and tui."""
    assert installed.wheel.name.endswith("-py3-none-any.whl"), installed.wheel.name
    names = zipfile.ZipFile(installed.wheel).namelist()
    assert not [n for n in names if n.endswith((".so", ".c", ".pyd"))]
    tops = {n.split("/", 1)[0] for n in names if "/" in n and ".dist-info" not in n}
    assert tops == {"engine", "cli", "tui"}, tops


def test_version_names_project_python_and_libraries(installed):
    done = installed.run("ps-console", "--version")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "ps-console 0.1.0"
    assert lines[1] == "python " + subprocess.run(
        [str(installed.bin / "python"), "-c", "import platform; "
         "print(platform.python_version())"], capture_output=True, text=True,
        timeout=30).stdout.strip()
    text = done.stdout
    for lib in ("textual", "confluent-kafka", "kazoo", "httpx", "fastavro", "librdkafka"):
        assert f"\n{lib} " in text
    assert "missing" not in text


def test_cluster_from_the_installed_wheel(installed, sandbox):
    done = installed.run("ps-console", "cluster", "--zookeeper", sandbox.zk_connect, "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert sorted(b["id"] for b in doc["brokers"]) == sorted(sandbox.broker_ids)


def test_agent_then_bundle_from_the_installed_wheel(installed, sandbox, tmp_path):
    topic = unique_topic("ps-dist")
    broker_id = sandbox.broker_ids[0]
    config = broker_config_copy(sandbox, broker_id, tmp_path, {
        "confluent.support.metrics.topic": topic,
        "confluent.support.metrics.endpoint.secure.enable": "false",
        "confluent.support.metrics.endpoint.insecure.enable": "false"})
    try:
        agent = installed.run("ps-console-agent", "--broker-config", str(config),
                              "--kafka-home", str(KAFKA_HOME), "--state-dir",
                              str(tmp_path / "state"), "--once", timeout=120)
        assert agent.returncode == 0, agent.stderr
        assert f"report broker={broker_id} schema=basic state=2" in agent.stderr
        assert "topic=ok(" in agent.stderr

        reports = installed.run("ps-console", "reports", "--zookeeper", sandbox.zk_connect,
                                "--topic", topic, "--json")
        assert reports.returncode == 0, reports.stderr
        mine = [r for r in json.loads(reports.stdout) if r.get("broker_id") == broker_id]
        assert len(mine) == 1, reports.stdout

        bundle = installed.work / f"{topic}.zip"
        export = installed.run("support-metrics-bundle", "--zookeeper", sandbox.zk_connect,
                               "--topic", topic, "--file", bundle.name)
        assert export.returncode == 0, export.stdout + export.stderr
        opened = open_bundle(str(bundle))
        assert [e.ok for e in opened.entries] == [True]
        assert opened.entries[0].state == 2
        assert opened.metadata is not None and opened.metadata["topic"] == topic
    finally:
        delete_topics(sandbox.bootstrap, topic)


def test_console_from_the_installed_wheel_on_a_terminal(installed, sandbox):
    cluster = json.loads(installed.run("ps-console", "cluster", "--zookeeper",
                                       sandbox.zk_connect, "--json").stdout)
    run = run_on_pty([str(installed.bin / "ps-console"), "--zookeeper", sandbox.zk_connect],
                     want=["ps-console", cluster["clusterId"]], bound=60,
                     env=installed.env(), cwd=installed.work)
    assert run.seen, run.screen[-2000:]
    assert run.exit_code == 0, run.screen[-2000:]
