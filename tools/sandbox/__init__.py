"""The Kafka sandbox: real ZooKeeper and Kafka processes on 127.0.0.1 for tests and the demo."""
