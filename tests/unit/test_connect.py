"""Connect-string parsing: every form ZooKeeper and Kafka clients accept, and garbage refused."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.cluster.connect import (
    ZK_DEFAULT_PORT,
    format_bootstrap,
    parse_bootstrap,
    parse_zk_connect,
)
from engine.cluster.location import ClusterOptions, locate
from engine.errors import ValidationError

_label = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_dns = st.lists(_label, min_size=1, max_size=4).map(".".join)
_ipv4 = st.ip_addresses(v=4).map(str)
_ipv6 = st.ip_addresses(v=6).map(lambda a: str(ipaddress.IPv6Address(a)))
_host = st.one_of(_dns, _ipv4, _ipv6)
_port = st.integers(1, 65535)
_segment = st.from_regex(r"[A-Za-z0-9_.-]{1,12}", fullmatch=True).filter(
    lambda s: s not in (".", ".."))
_chroot = st.lists(_segment, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))


def _render(host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"


@given(st.lists(st.tuples(_host, st.none() | _port), min_size=1, max_size=5),
       st.none() | _chroot)
def test_every_valid_zookeeper_form_is_accepted(servers, chroot):
    text = ",".join(_render(h, p) for h, p in servers) + (chroot or "")
    parsed = parse_zk_connect(text)
    assert parsed.chroot == chroot
    assert parsed.hosts == tuple((h, p if p is not None else ZK_DEFAULT_PORT)
                                 for h, p in servers)
    # The canonical form parses to the same thing (what kazoo is handed).
    assert parse_zk_connect(str(parsed)) == parsed


@given(st.lists(st.tuples(_host, _port), min_size=1, max_size=5),
       st.sampled_from(["", "PLAINTEXT://", "SASL_SSL://"]))
def test_every_valid_bootstrap_form_is_accepted(servers, scheme):
    text = ",".join(scheme + _render(h, p) for h, p in servers)
    parsed = parse_bootstrap(text)
    assert parsed == tuple(servers)
    assert parse_bootstrap(format_bootstrap(parsed)) == parsed


@given(st.text(max_size=40))
def test_arbitrary_text_is_parsed_or_refused_with_validation_error(text):
    for parse in (parse_zk_connect, parse_bootstrap):
        try:
            parse(text)
        except ValidationError as exc:
            assert str(exc) and "\n" not in str(exc)


@given(_host, _port, _chroot, st.sampled_from([
    "{s}/",                 # lone trailing slash
    "{s}{c}/",              # chroot ending in /
    "{s}/{c}",              # empty element: //
    "{s}{c}//x",
    "{s}{c}/./x",
    "{s}{c}/..",
    "{s},",                 # empty server entry
    ",{s}",
    "{s},,{s}",
    "{c}",                  # chroot without a server
    "{s} ",
    "{s}{c}\x01",
]))
def test_malformed_zookeeper_strings_are_refused(host, port, chroot, pattern):
    server = _render(host, port)
    with pytest.raises(ValidationError):
        parse_zk_connect(pattern.format(s=server, c=chroot))


@pytest.mark.parametrize("text, fragment", [
    ("", "empty"),
    ("   ", "empty"),
    ("zk1:0", "outside 1-65535"),
    ("zk1:65536", "outside 1-65535"),
    ("zk1:-1", "not a number"),
    ("zk1:21x", "not a number"),
    ("zk1:", "not a number"),
    ("::1", "brackets"),
    ("[::1", "closing"),
    ("[nothost]:2181", "not an IPv6"),
    ("[::1]x", "unexpected"),
    ("bad_host!:2181", "not a valid host"),
    ("zk1:2181/kafka/", "must not end with '/'"),
    ("zk1:2181//kafka", "empty path element"),
    ("zk1:2181/a/../b", "relative element"),
])
def test_zookeeper_messages_name_the_problem(text, fragment):
    with pytest.raises(ValidationError, match=fragment):
        parse_zk_connect(text)


def test_zookeeper_defaults_and_ipv6():
    parsed = parse_zk_connect("zk1,zk2:2182,[::1]:2183,[fe80::1]/kafka/prod")
    assert parsed.hosts == (("zk1", 2181), ("zk2", 2182), ("::1", 2183), ("fe80::1", 2181))
    assert parsed.chroot == "/kafka/prod"
    assert str(parsed) == "zk1:2181,zk2:2182,[::1]:2183,[fe80::1]:2181/kafka/prod"


@pytest.mark.parametrize("text", ["kafka1", "kafka1:9092,", "kafka1:9092/kafka", "k:99999",
                                  "::1:9092", "[::1]"])
def test_bad_bootstrap_refused(text):
    with pytest.raises(ValidationError):
        parse_bootstrap(text)


@pytest.mark.parametrize("timeout", [0, -1, float("inf"), float("nan"), 1e300, 3601])
def test_a_location_refuses_a_timeout_that_is_not_a_sane_number_of_seconds(timeout):
    with pytest.raises(ValidationError, match="--timeout"):
        locate(ClusterOptions(bootstrap="kafka1:9092", timeout=timeout))


def test_a_location_validates_its_strings():
    with pytest.raises(ValidationError):
        locate(ClusterOptions(zookeeper="zk:2181/kafka/"))
    with pytest.raises(ValidationError):
        locate(ClusterOptions(bootstrap="kafka1"))
    location = locate(ClusterOptions(zookeeper="zk:2181/kafka"))
    assert location.zookeeper is not None and location.zookeeper.chroot == "/kafka"
    assert location.description == "zk zk:2181/kafka"
    assert ValidationError.exit_code == 2
