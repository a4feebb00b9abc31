"""Bundle export when the destination cannot take the file: the folder is not a folder, is
read-only, or the disk fills up in the middle of the export (shared sandbox; nothing here
stops a broker). Always a one-line error, exit 1, and no partial or temporary file.

Tests run as root, who ignores permission bits, so "not writable" is made real with a
read-only tmpfs; "the disk fills" with a small tmpfs and, where mounting is not allowed,
with RLIMIT_FSIZE on the export process (Python ignores SIGXFSZ, so writes fail EFBIG)."""

from __future__ import annotations

import resource
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from cli.main import main
from engine.reporting.records import encode
from tests.support.files import tmpfs

RECORDS = 3000  # about 1.1 MB of zip


@pytest.fixture(scope="module")
def topic(cluster) -> Iterator[str]:
    name = f"ps-bundle-faults-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(name, 1, 1)])[name].result(timeout=30)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "linger.ms": 20,
                         "enable.idempotence": True})
    for n in range(RECORDS):
        producer.produce(name, value=encode(
            {"timestamp": 1_700_000_000 + n, "kafkaVersion": "3.9.2",
             "confluentPlatformVersion": None, "collectorState": 2,
             "brokerProcessUUID": str(uuid.uuid4())}, "basic"))
        if n % 500 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0
    yield name
    for fut in admin.delete_topics([name]).values():
        fut.result(timeout=30)


@pytest.fixture
def read_only_folder(tmp_path) -> Iterator[Path]:
    yield from tmpfs(tmp_path / "ro", "ro,size=1m")


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    yield from tmpfs(tmp_path / "small", "size=256k")


def _export(cluster, topic: str, path: Path, capsys) -> tuple[int, str]:
    code = main(["bundle", "--bootstrap-server", cluster.bootstrap, "--topic", topic,
                 "--file", str(path), "--quiet"])
    out, err = capsys.readouterr()
    assert out == ""
    return code, err


def test_parent_that_is_a_regular_file(cluster, topic, tmp_path, capsys):
    (tmp_path / "plain").write_bytes(b"not a folder")
    code, err = _export(cluster, topic, tmp_path / "plain" / "b.zip", capsys)
    assert code == 1
    assert err.count("\n") == 1 and "does not exist" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]
    assert (tmp_path / "plain").read_bytes() == b"not a folder"


def test_read_only_folder(cluster, topic, read_only_folder, capsys):
    code, err = _export(cluster, topic, read_only_folder / "b.zip", capsys)
    assert code == 1
    assert err.count("\n") == 1 and "Read-only file system" in err, err
    assert list(read_only_folder.iterdir()) == []


def test_disk_full_mid_export(cluster, topic, small_disk, capsys):
    code, err = _export(cluster, topic, small_disk / "b.zip", capsys)
    assert code == 1
    assert err.count("\n") == 1 and "No space left on device" in err, err
    assert list(small_disk.iterdir()) == []  # neither the zip nor its temp file


def test_file_size_limit_mid_export(cluster, topic, tmp_path):
    """The same through the console script in a process whose files may not exceed
    256 KiB: the export has written part of the zip when the limit hits."""
    out = tmp_path / "out"
    out.mkdir()

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))

    done = subprocess.run(
        [str(Path(sys.executable).with_name("ps-console")), "bundle", "--bootstrap-server",
         cluster.bootstrap, "--topic", topic, "--file", str(out / "b.zip"), "--quiet"],
        capture_output=True, text=True, timeout=120, preexec_fn=limit, cwd=out)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "File too large" in done.stderr, done.stderr
    assert list(out.iterdir()) == []
