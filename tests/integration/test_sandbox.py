"""The sandbox is real: ZooKeeper registrations, a replicated topic, a produce/consume trip."""

import json
import uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kazoo.client import KazooClient


def test_three_brokers_registered_and_a_replicated_topic_round_trips(sandbox):
    zk = KazooClient(hosts=sandbox.zk_connect, timeout=10)
    zk.start(timeout=10)
    try:
        ids = sorted(int(i) for i in zk.get_children("/brokers/ids"))
        assert ids == [1, 2, 3]
        for i in ids:
            reg = json.loads(zk.get(f"/brokers/ids/{i}")[0])
            assert reg["endpoints"], reg
            assert all(e.startswith("PLAINTEXT://127.0.0.1:") for e in reg["endpoints"])

        topic = f"sandbox-proof-{uuid.uuid4().hex[:8]}"
        admin = AdminClient({"bootstrap.servers": sandbox.bootstrap})
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=3)]
                            )[topic].result(timeout=30)

        producer = Producer({"bootstrap.servers": sandbox.bootstrap, "acks": "all"})
        producer.produce(topic, value=b"hello sandbox")
        assert producer.flush(30) == 0

        consumer = Consumer({"bootstrap.servers": sandbox.bootstrap,
                             "group.id": f"proof-{uuid.uuid4()}",
                             "auto.offset.reset": "earliest"})
        consumer.subscribe([topic])
        try:
            msg = None
            for _ in range(60):
                msg = consumer.poll(1.0)
                if msg is not None and msg.error() is None:
                    break
            assert msg is not None and msg.error() is None
            assert msg.value() == b"hello sandbox"
        finally:
            consumer.close()

        assert topic in zk.get_children("/brokers/topics")
        state = json.loads(zk.get(f"/brokers/topics/{topic}")[0])
        assert sorted(state["partitions"]["0"]) == [1, 2, 3]
    finally:
        zk.stop()
        zk.close()
