"""Two CLI promises, on real sockets and files (no cluster): a closed port is "refused" at
once by every command that reaches the cluster, however many clients it makes, and a
`--broker-config` that is not there is a usage error (exit 2, as every --help says)."""

from __future__ import annotations

import contextlib
import io
import socket
import time
from pathlib import Path

import pytest

from cli.main import main
from engine.cluster.location import ClusterOptions, locate
from engine.cluster.session import ClusterSession
from engine.errors import ConnectionFailure


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_a_session_refused_once_stays_refused_for_its_later_clients():
    port = _closed_port()
    location = locate(ClusterOptions(bootstrap=f"127.0.0.1:{port}", timeout=8))
    with ClusterSession(location) as session:
        for _ in range(2):
            started = time.monotonic()
            with pytest.raises(ConnectionFailure, match="refused the connection"):
                session.ensure_reachable()
            assert time.monotonic() - started < 3


def test_report_to_a_closed_kafka_says_refused_at_once(tmp_path: Path):
    # A KRaft broker's file: no ZooKeeper, the broker's own listener is the bootstrap.
    config = tmp_path / "server.properties"
    config.write_text(f"process.roles=broker\nnode.id=1\nbroker.id=1\n"
                      f"listeners=PLAINTEXT://127.0.0.1:{_closed_port()}\n"
                      "confluent.support.metrics.enable=true\n"
                      "confluent.support.metrics.endpoint.secure.enable=false\n"
                      "confluent.support.metrics.endpoint.insecure.enable=false\n")
    started = time.monotonic()
    code, out, err = _cli("report", "--broker-config", str(config), "--timeout", "8")
    elapsed = time.monotonic() - started
    assert code == 1
    # Nothing answers for the broker, so nothing is sent (a stopped broker gets no report),
    # and the one line says the connection was refused.
    assert out == "" and "refused the connection" in err and "no report is sent" in err
    assert len(err.strip().splitlines()) == 1, err
    assert "did not answer" not in out + err
    assert elapsed < 5, elapsed


@pytest.mark.parametrize("command", [["report"], ["settings", "show"], ["agent", "--check"],
                                     ["agent", "--once"]])
def test_a_missing_broker_config_is_exit_2(tmp_path: Path, command: list[str]):
    missing = tmp_path / "nope.properties"
    code, out, err = _cli(*command, "--broker-config", str(missing))
    assert code == 2, (out, err)
    assert f"broker config {missing} does not exist" in out + err
    assert "Traceback" not in out + err
