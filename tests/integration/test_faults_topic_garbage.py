"""A support topic holding garbage, a truncated container, a 2 MiB random value, a null
value and a valid Avro container of another record schema, between real reports (shared
sandbox; nothing here stops a broker). `reports`, `reports --all`, `bundle` and `open`
keep working and count the odd records as undecodable or other-schema."""

from __future__ import annotations

import json
import os
import time
import uuid
import zipfile

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from cli.main import main
from engine.reporting.records import encode
from tests.support.cp_records import GARBAGE, container

BIG = 2 * 1024 * 1024
OTHER_SCHEMA = {"type": "record", "name": "Invoice", "namespace": "com.example.billing",
                "fields": [{"name": "amount", "type": "long"},
                           {"name": "currency", "type": "string"}]}


def _report(broker_id: int, ts: int) -> bytes:
    return encode({"timestamp": ts, "kafkaVersion": "3.9.2", "confluentPlatformVersion": None,
                   "collectorState": 2, "brokerProcessUUID": str(uuid.uuid4()),
                   "clusterId": "garbage-test"}, "basic")


@pytest.fixture(scope="module")
def garbage_topic(cluster):
    """name, and the values in topic order with their headers."""
    name = f"ps-garbage-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(name, 1, 1, config={"max.message.bytes": str(3 * BIG)})]
                        )[name].result(timeout=30)
    first = _report(1, int(time.time()))
    values: list[tuple[bytes | None, dict[str, str]]] = [
        (first, {"broker.id": "1", "report.id": str(uuid.uuid4())}),
        (GARBAGE, {}),
        (first[: len(first) // 2], {"broker.id": "1"}),  # truncated container
        (os.urandom(BIG), {"broker.id": "2"}),  # oversized random bytes
        (None, {}),
        (container(OTHER_SCHEMA, [{"amount": 42, "currency": "EUR"}]), {}),
    ]
    producer = Producer({"bootstrap.servers": cluster.bootstrap,
                         "message.max.bytes": 3 * BIG, "linger.ms": 5})

    def send(value: bytes | None, headers: dict[str, str]) -> None:
        # One at a time: the 2 MiB value goes in a request of its own, and requests in
        # flight together may land out of order; the tests rely on topic order.
        producer.produce(name, value=value, headers=list(headers.items()))
        assert producer.flush(30) == 0

    for value, headers in values:
        send(value, headers)
    # Broker 2's report is made after its odd record was written, as an agent's next
    # report is; an undecodable record has only its Kafka time (milliseconds), a report
    # its own timestamp (whole seconds), so it waits for the next second.
    time.sleep(1.1)
    last = (_report(2, int(time.time())), {"broker.id": "2", "report.id": str(uuid.uuid4())})
    send(*last)
    values.append(last)
    yield name, values
    for fut in admin.delete_topics([name]).values():
        fut.result(timeout=30)


def test_reports_all_lists_every_record_and_flags_the_odd_ones(cluster, garbage_topic,
                                                               capsys):
    topic, values = garbage_topic
    assert main(["reports", "--bootstrap-server", cluster.bootstrap, "--topic", topic,
                 "--all", "--json"]) == 0
    out, err = capsys.readouterr()
    docs = [json.loads(line) for line in out.splitlines()]
    assert [d["offset"] for d in docs] == list(range(len(values)))
    assert [d["ok"] for d in docs] == [True, False, False, False, False, True, True]
    assert all(d["error"] and d["fields"] is None for d in docs if not d["ok"])
    assert [d["schema_kind"] for d in docs if d["ok"]] == ["basic", "other", "basic"]
    assert docs[5]["fields"] == {"amount": 42, "currency": "EUR"}
    assert docs[3]["size"] == BIG
    assert "Traceback" not in err

    assert main(["reports", "--bootstrap-server", cluster.bootstrap, "--topic", topic,
                 "--all"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert sum("UNDECODABLE" in line for line in text) == 4
    assert text[-1] == f"{len(values)} report(s) in {topic}"


def test_latest_per_broker_skips_past_the_odd_records(cluster, garbage_topic, capsys):
    topic, _ = garbage_topic
    assert main(["reports", *cluster.cli, "--topic", topic,
                 "--json"]) == 0
    docs = json.loads(capsys.readouterr().out)
    by_broker = {d["broker_id"]: d for d in docs if d["broker_id"] is not None}
    assert sorted(by_broker) == [1, 2]
    assert by_broker[2]["offset"] == 6 and by_broker[2]["ok"]
    # Broker 1's newest record is the truncated one: shown as such, with its error, not
    # hidden and not a crash.
    assert by_broker[1]["offset"] == 2 and not by_broker[1]["ok"]
    # Whatever undecodable records the backward read met are shown, each with its error.
    assert all(d["error"] for d in docs if not d["ok"])
    assert main(["reports", *cluster.cli, "--topic", topic]) == 0
    assert "broker 2" in capsys.readouterr().out


def test_bundle_keeps_every_record_and_open_counts_the_odd_ones(cluster, garbage_topic,
                                                                tmp_path, capsys):
    topic, values = garbage_topic
    out = tmp_path / "garbage.zip"
    assert main(["bundle", "--bootstrap-server", cluster.bootstrap, "--topic", topic,
                 "--file", str(out), "--quiet"]) == 0
    assert capsys.readouterr().out.startswith(f"{out}: {len(values)} records")
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        assert [zf.read(i) for i in zf.infolist()] == [v or b"" for v, _ in values]

    assert main(["open", str(out)]) == 0
    summary = capsys.readouterr().out
    assert f"entries: {len(values)}, decoded 3, undecodable 4" in summary
    assert "com.example.billing.Invoice: 1" in summary or "Invoice: 1" in summary
    assert "undecodable entries:" in summary

    assert main(["open", str(out), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d["ok"] for d in lines] == [True, False, False, False, False, True, True]
    assert sorted(os.listdir(tmp_path)) == ["garbage.zip"]
