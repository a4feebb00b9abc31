"""Support bundle export on the real sandbox: completeness, order, partial, Ctrl-C, refusals."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
import zipfile
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from cli.main import main
from engine.reading.bundle import ExportCancelled, export_bundle, open_bundle
from engine.reporting.records import encode
from tests.support.cluster import wait_for_topic
from tests.support.cp_records import GARBAGE, cp30_basic, cp31_enhanced

BIG = 200_000
REPO = Path(__file__).resolve().parents[2]


def _report(token: str, ts: int) -> bytes:
    return encode({"timestamp": ts, "kafkaVersion": "3.9.2", "confluentPlatformVersion": None,
                   "collectorState": 2, "brokerProcessUUID": token}, "basic")


class Topics:
    """Creates unique topics on the sandbox and deletes them all at the end."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.admin = AdminClient({"bootstrap.servers": bootstrap})
        self.made: list[str] = []

    def create(self, partitions: int = 1) -> str:
        name = f"bundle-test-{uuid.uuid4().hex[:10]}"
        self.admin.create_topics([NewTopic(name, partitions, 1)])[name].result(timeout=30)
        self.made.append(name)
        wait_for_topic(self.bootstrap, name)
        return name

    def produce(self, topic: str, items: list[tuple[int, bytes | None]], **conf) -> None:
        producer = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 20,
                             "enable.idempotence": True, **conf})
        for n, (partition, value) in enumerate(items):
            while True:
                try:
                    producer.produce(topic, value=value, partition=partition,
                                     headers={"broker.id": b"1"})
                    break
                except BufferError:
                    producer.poll(0.05)
            if n % 20_000 == 0:
                producer.poll(0)
        assert producer.flush(60) == 0

    def delete_all(self) -> None:
        if self.made:
            for fut in self.admin.delete_topics(self.made).values():
                fut.result(timeout=30)


@pytest.fixture(scope="module")
def topics(cluster):
    made = Topics(cluster.bootstrap)
    yield made
    made.delete_all()


@pytest.fixture(scope="module")
def big_topic(topics):
    """200,000 real-sized report values, produced fast with big batches."""
    name = topics.create()
    values = [_report(str(uuid.uuid4()), 1_700_000_000 + i) for i in range(100)]
    topics.produce(name, [(0, values[i % 100]) for i in range(BIG)],
                   **{"linger.ms": 50, "batch.size": 1_000_000, "acks": 1,
                      "enable.idempotence": False,  # speed over order for this filler
                      "queue.buffering.max.messages": 300_000})
    return name


def _entries(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def _cli(cluster, *args: str) -> list[str]:
    return ["bundle", "--bootstrap-server", cluster.bootstrap, *args]


def test_reports_of_three_agents_export_to_exactly_the_topic(cluster, topics,
                                                             tmp_path, capsys):
    topic = topics.create()
    tokens = [str(uuid.uuid4()) for _ in range(3)]
    values: list[bytes | None] = [_report(tokens[i % 3], 1_700_000_000 + i) for i in range(30)]
    values += [cp30_basic(), cp31_enhanced(broker_id=2), GARBAGE, None]
    topics.produce(topic, [(0, v) for v in values])

    out = tmp_path / "b.zip"
    assert main(_cli(cluster, "--topic", topic, "--file", str(out))) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{out}: 34 records, ") and "\n" not in line

    entries = _entries(out)
    assert [name for name, _ in entries] == [f"b.zip.{n}" for n in range(34)]
    assert [data for _, data in entries] == [v or b"" for v in values]
    opened = open_bundle(str(out))
    meta = opened.metadata
    assert meta["topic"] == topic and meta["complete"] is True and meta["records"] == 34
    assert meta["partitions"] == [{"partition": 0, "low": 0, "high": 34, "records": 34}]
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    cluster_id = admin.describe_cluster().result(timeout=30).cluster_id
    assert meta["cluster_id"] == cluster_id
    decoded_tokens = {e.token for e in opened.entries[:30]}
    assert decoded_tokens == set(tokens)
    assert [e.ok for e in opened.entries[30:]] == [True, True, False, False]
    assert os.listdir(tmp_path) == ["b.zip"]  # no temp file left


def test_three_partitions_export_completely_in_topic_order(cluster, topics, tmp_path,
                                                           open_session):
    topic = topics.create(partitions=3)
    items = [(i % 3, f"p{i % 3}-{i // 3:04d}".encode()) for i in range(300)]
    topics.produce(topic, items)
    session = open_session(**cluster.where)  # brokers found through ZooKeeper (zk)
    seen = []
    result = export_bundle(session, topic, str(tmp_path / "p.zip"), progress=seen.append)
    assert result.complete and result.records == result.total == 300
    expected = [v for p in range(3) for part, v in items if part == p]
    assert [data for _, data in _entries(tmp_path / "p.zip")] == expected
    assert seen[-1].records == 300 and seen[-1].size_bytes == result.size_bytes
    assert result.size_bytes == (tmp_path / "p.zip").stat().st_size


def test_runtime_cuts_a_large_topic_short_into_a_partial_bundle(cluster, big_topic,
                                                                tmp_path, capsys):
    out = tmp_path / "partial.zip"
    rc = main(_cli(cluster, "--topic", big_topic, "--file", str(out), "--runtime", "0.01"))
    assert rc == 1
    line = capsys.readouterr().out
    assert "partial: " in line and f" of {BIG} records" in line
    opened_meta = open_bundle(str(out)).metadata  # the zip is still written, and valid
    assert opened_meta["complete"] is False and opened_meta["records"] < BIG
    assert f"partial: {opened_meta['records']} of {BIG}" in line


def test_sigint_during_export_leaves_no_file_and_no_temp_file(cluster, big_topic, tmp_path):
    out = tmp_path / "int.zip"
    proc = subprocess.Popen(
        [str(REPO / ".venv/bin/support-metrics-bundle"), "--bootstrap-server",
         cluster.bootstrap, "--topic", big_topic, "--file", str(out), "--runtime", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            parts = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
            if parts and parts[0].stat().st_size > 0:
                break
            time.sleep(0.002)
        assert proc.poll() is None, "the export ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert b"interrupted" in err and b"Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_cancel_from_another_thread_leaves_nothing(cluster, big_topic, tmp_path,
                                                   open_session):
    cancel = threading.Event()
    with pytest.raises(ExportCancelled):
        export_bundle(open_session(bootstrap=cluster.bootstrap), big_topic, str(tmp_path / "c.zip"), runtime=60,
                      progress=lambda p: cancel.set(), cancel=cancel)
    assert list(tmp_path.iterdir()) == []


def test_existing_file_kept_without_force_and_replaced_with_it(cluster, topics, tmp_path,
                                                               capsys):
    topic = topics.create()
    topics.produce(topic, [(0, b"one"), (0, b"two")])
    out = tmp_path / "x.zip"
    out.write_bytes(b"precious")
    assert main(_cli(cluster, "--topic", topic, "--file", str(out))) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err and err.count("\n") == 1
    assert out.read_bytes() == b"precious"
    assert main(_cli(cluster, "--topic", topic, "--file", str(out), "--force", "--quiet")) == 0
    assert [d for _, d in _entries(out)] == [b"one", b"two"]
    assert sorted(os.listdir(tmp_path)) == ["x.zip"]


def test_empty_topic_gives_no_file(cluster, topics, tmp_path, capsys, monkeypatch):
    topic = topics.create()
    monkeypatch.chdir(tmp_path)  # the default file name lands here, if anywhere
    assert main(_cli(cluster, "--topic", topic)) == 1
    assert capsys.readouterr().err.strip() == "No records found."
    assert list(tmp_path.iterdir()) == []


def test_missing_topic_is_one_line_exit_1(cluster, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    topic = f"bundle-test-missing-{uuid.uuid4().hex[:8]}"
    assert main(_cli(cluster, "--topic", topic)) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == f"ps-console: topic {topic} does not exist\n"
    assert list(tmp_path.iterdir()) == []


def test_default_name_follows_the_topic(cluster, topics, tmp_path, monkeypatch, capsys):
    topic = topics.create()
    topics.produce(topic, [(0, b"v")])
    monkeypatch.chdir(tmp_path)
    assert main(_cli(cluster, "--topic", topic, "--quiet")) == 0
    (name,) = os.listdir(tmp_path)
    assert name.startswith(f"support-metrics-{topic}.") and name.endswith(".zip")
    assert _entries(tmp_path / name) == [(f"{name}.0", b"v")]
    capsys.readouterr()


def test_usage_exit_codes(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bundle", "--help"])
    assert exc.value.code == 0
    with pytest.raises(SystemExit) as exc:
        main(["bundle", "--bootstrap-server", "x:1", "--bogus"])
    assert exc.value.code == 2
    capsys.readouterr()


def test_cp_short_flags_and_the_script_name(cluster, topics, tmp_path):
    """CP's support-metrics-bundle took -t, -f and -r; so does ours, and its usage and
    error lines name it."""
    topic = topics.create()
    topics.produce(topic, [(0, _report("short-flags", 1_700_000_000 + i)) for i in range(3)])
    out = tmp_path / "short.zip"
    script = str(REPO / ".venv/bin/support-metrics-bundle")
    done = subprocess.run([script, *cluster.cli, "-t", topic, "-f", str(out), "-r", "30"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{out}: 3 records")
    with zipfile.ZipFile(out) as zf:
        assert [i.filename for i in zf.infolist()] == [f"short.zip.{n}" for n in range(3)]
    bad = subprocess.run([script, *cluster.cli, "-t", topic, "-x"],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.startswith("usage: support-metrics-bundle ")
    assert bad.stderr.strip().splitlines()[-1] == \
        "support-metrics-bundle: error: unrecognized arguments: -x"
    assert "ps-console" not in bad.stderr
