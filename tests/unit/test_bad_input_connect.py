"""Connect strings through the command line: whatever the parser refuses, `ps-console
cluster` refuses with exit 2 and one line, before any network call; every valid form gets
past the parser to a connection attempt (a closed port on loopback: exit 1, not 2).
The parser itself is property-tested in test_connect.py; this is the CLI around it."""

from __future__ import annotations

import contextlib
import io
import socket

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from cli.main import main
from engine.cluster.connect import parse_bootstrap, parse_zk_connect
from engine.errors import ValidationError
from tests.unit.test_connect import _chroot


def _refused(parse, text: str) -> bool:
    try:
        parse(text)
    except ValidationError:
        return True
    return False


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_garbage = st.text(max_size=40) | st.text(alphabet="[]:/,.-_ 0123456789abc", max_size=30)


_OPTIONS = {"--zookeeper": parse_zk_connect, "--bootstrap-server": parse_bootstrap}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(_OPTIONS)), _garbage)
@example("--zookeeper", "")
@example("--zookeeper", "host:0")
@example("--zookeeper", "host:65536")
@example("--zookeeper", "a:1,")
@example("--zookeeper", "/kafka")
@example("--zookeeper", "zk:2181//kafka")
@example("--zookeeper", "zk:2181/kafka/")
@example("--zookeeper", "[::1:2181")
@example("--zookeeper", "-x")
@example("--bootstrap-server", "host")
@example("--bootstrap-server", "PLAINTEXT://")
@example("--bootstrap-server", "a:1,,b:2")
def test_every_refused_string_is_exit_2_from_the_cli(option, text):
    assume(_refused(_OPTIONS[option], text))
    code, out, err = _cli("cluster", f"{option}={text}", "--timeout", "0.5")
    assert code == 2, err
    assert out == "" and err.startswith("ps-console: ") and err.count("\n") == 1, err


_loopback = st.sampled_from(["127.0.0.1", "[::1]", "localhost"])


@settings(max_examples=6, deadline=None)
@given(st.lists(st.tuples(_loopback, st.booleans()), min_size=1, max_size=3),
       st.none() | _chroot)
def test_valid_zookeeper_forms_reach_a_connection_attempt(servers, chroot):
    port = _closed_port()
    text = ",".join(f"{h}:{port}" if with_port else h for h, with_port in servers)
    text += chroot or ""
    code, out, err = _cli("cluster", "--zookeeper", text, "--timeout", "0.5")
    # Port 2181 (the default) may be open on some machines; ours are closed: no answer.
    assert code == 1, err
    assert "refused the connection" in err or "cannot" in err.lower(), err


@settings(max_examples=4, deadline=None)
@given(st.lists(_loopback, min_size=1, max_size=3),
       st.sampled_from(["", "PLAINTEXT://"]))
def test_valid_bootstrap_forms_reach_a_connection_attempt(hosts, scheme):
    port = _closed_port()
    text = ",".join(f"{scheme}{h}:{port}" for h in hosts)
    code, out, err = _cli("cluster", "--bootstrap-server", text, "--timeout", "0.5")
    assert code == 1, err
    assert out == "" and err.count("\n") == 1, err
