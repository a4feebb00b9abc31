"""engine.config.settings: defaults, rules, in-place edits, atomic saves with backup."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import settings as settings_mod
from engine.config.properties import load_properties
from engine.config.settings import (
    BLOCK_LABEL,
    CUSTOMER_ID,
    DEFAULTS,
    KEYS,
    METRICS_ENABLE,
    PROXY,
    REPORT_INTERVAL_HOURS,
    TOPIC,
    FileChangedError,
    customer_id_kind,
    load_settings,
    validate,
)
from engine.errors import PsError, UsageError, ValidationError
from tests.support.stock import STOCK


@pytest.fixture
def stock_crlf(tmp_path: Path) -> Path:
    path = tmp_path / "server.properties"
    path.write_bytes(STOCK.replace(b"\n", b"\r\n"))
    return path


def test_nine_keys_with_the_spec_defaults() -> None:
    assert len(KEYS) == 9 and set(DEFAULTS) == set(KEYS)
    for key in KEYS:
        assert validate(key, DEFAULTS[key]) is None, key


def test_stock_file_values_and_sources(stock: Path) -> None:
    eff = load_settings(stock).effective
    assert list(eff) == list(KEYS)
    assert eff[METRICS_ENABLE].value is True and eff[METRICS_ENABLE].source == "file"
    assert eff[CUSTOMER_ID].value == "anonymous" and eff[CUSTOMER_ID].source == "file"
    assert eff[CUSTOMER_ID].line is not None
    assert STOCK.decode().splitlines()[eff[CUSTOMER_ID].line - 1] == \
        "confluent.support.customer.id=anonymous"
    # Commented-out keys in the stock file are not settings.
    assert eff[TOPIC].source == "default" and eff[TOPIC].raw is None
    assert eff[REPORT_INTERVAL_HOURS].value == 24
    assert all(s.problem is None for s in eff.values())


def test_properties_holds_every_key_of_the_file(stock: Path) -> None:
    props = load_settings(stock).properties
    assert props["zookeeper.connect"] == "localhost:2181"
    assert props["broker.id"] == "0"


def test_invalid_values_are_not_replaced_by_defaults(tmp_path: Path) -> None:
    path = tmp_path / "s.properties"
    path.write_text("confluent.support.metrics.report.interval.hours=0\n"
                    "confluent.support.metrics.enable = yes\n")
    loaded = load_settings(path)
    eff = loaded.effective
    # No value for the agent: an interval CP refused is no interval, and "yes" is not true.
    assert eff[REPORT_INTERVAL_HOURS].value is None
    assert eff[REPORT_INTERVAL_HOURS].raw == "0"
    assert "from 1" in eff[REPORT_INTERVAL_HOURS].problem
    assert eff[METRICS_ENABLE].value is False and "true or false" in eff[METRICS_ENABLE].problem
    assert loaded.plan.state == "disabled"
    assert "would stop the agent" in eff[REPORT_INTERVAL_HOURS].effect


@pytest.mark.parametrize(("cid", "kind"), [
    ("anonymous", "anonymous"), ("AnOnYmOuS", "anonymous"), ("c0", "test"), ("C0", "test"),
    ("c1", "customer"), ("C12345", "customer"), ("c" + "9" * 30, "customer"),
    ("c00", "customer"), ("c" + "9" * 31, "invalid"), ("c", "invalid"), ("", "invalid"),
    ("x123", "invalid"), (" c1", "invalid"), ("c1a", "invalid"), ("c١", "invalid"),
])
def test_customer_id_kind(cid: str, kind: str) -> None:
    assert customer_id_kind(cid) == kind
    assert (validate(CUSTOMER_ID, cid) is None) == (kind != "invalid")


VALID = {
    METRICS_ENABLE: ["true", "false", "TRUE", "False"],
    TOPIC: ["", "__confluent.support.metrics", "a", "x" * 249, "a-b_c.d", "..."],
    # Java's Long.parseLong, as CP read it: a sign, leading zeros, any script's digits; an
    # empty value is CP's default (24).
    REPORT_INTERVAL_HOURS: ["1", "24", "168", "876000", "+12", "012", "\u0661\u0662", ""],
    PROXY: ["", "http://proxy:3128", "http://10.0.0.1:8080/", "http://[::1]:3128"],
    "confluent.support.metrics.endpoint.secure": [
        "https://support-metrics.confluent.io", "https://127.0.0.1:8443", "https://h/base"],
    "confluent.support.metrics.endpoint.insecure": [
        "http://support-metrics.confluent.io", "http://127.0.0.1:8080/x"],
}
INVALID = {
    METRICS_ENABLE: ["yes", "1", "", "true ", "on"],
    TOPIC: [".", "..", "x" * 250, "has space", "a/b", "ü"],
    REPORT_INTERVAL_HOURS: ["0", "-1", "1.5", " 24", "12 ", "876001", "twelve", "abc", "0x10",
                            "1_000", "9223372036854775808", "9" * 5000, "+", "-0", "1e3"],
    PROXY: ["proxy:3128", "https://proxy:3128", "http://proxy", "http://proxy:3128/path",
            "http://u:p@proxy:3128", "http://proxy:99999", "http://:3128"],
    "confluent.support.metrics.endpoint.secure": [
        "http://support-metrics.confluent.io", "", "https://", "https://h?x=1", "ftp://h"],
    "confluent.support.metrics.endpoint.insecure": [
        "https://support-metrics.confluent.io", "", "http://h#frag", "http://h:port"],
}


@pytest.mark.parametrize(("key", "raw"), [(k, v) for k, vs in VALID.items() for v in vs])
def test_valid_values(key: str, raw: str) -> None:
    assert validate(key, raw) is None


@pytest.mark.parametrize(("key", "raw"), [(k, v) for k, vs in INVALID.items() for v in vs])
def test_invalid_values(key: str, raw: str) -> None:
    assert validate(key, raw)


def test_unknown_keys_are_problems_with_hints() -> None:
    assert "did you mean confluent.support.customer.id" in validate(
        "confluent.support.custmer.id", "c1")
    assert "only confluent.support.*" in validate("log.dirs", "/x")
    assert "did you mean confluent.support.proxy" in validate("proxy", "")


def test_change_in_place_keeps_everything_else(stock: Path) -> None:
    sf = load_settings(stock)
    backup = sf.save({CUSTOMER_ID: "c42"})
    new = stock.read_bytes()
    assert new == STOCK.replace(b"confluent.support.customer.id=anonymous",
                                b"confluent.support.customer.id=c42")
    assert backup == stock.with_name("server.properties.bak")
    assert backup.read_bytes() == STOCK
    assert load_settings(stock).effective[CUSTOMER_ID].value == "c42"


def test_missing_keys_go_in_one_labelled_block_at_the_end(stock: Path) -> None:
    load_settings(stock).save({TOPIC: "", PROXY: "http://p:3128", CUSTOMER_ID: "c0"})
    new = stock.read_bytes()
    block = (b"\n" + BLOCK_LABEL.encode() + b"\nconfluent.support.metrics.topic=\n"
             b"confluent.support.proxy=http://p:3128\n")
    assert new.endswith(block)
    assert new.split(b"\n").count(BLOCK_LABEL.encode()) == 1
    assert new[:-len(block)] == STOCK.replace(b"customer.id=anonymous", b"customer.id=c0")
    eff = load_settings(stock).effective
    assert eff[TOPIC].value == "" and eff[TOPIC].source == "file"


def test_a_later_save_adds_to_our_block(stock: Path) -> None:
    load_settings(stock).save({TOPIC: "t1"})
    load_settings(stock).save({PROXY: "http://p:1"})
    assert stock.read_bytes() == STOCK + (
        b"\n" + BLOCK_LABEL.encode() + b"\nconfluent.support.metrics.topic=t1\n"
        b"confluent.support.proxy=http://p:1\n")


def test_a_block_followed_by_other_lines_gets_a_new_one(tmp_path: Path) -> None:
    path = tmp_path / "s.properties"
    path.write_bytes(BLOCK_LABEL.encode() + b"\nconfluent.support.metrics.topic=t\n# mine\n")
    load_settings(path).save({PROXY: "http://p:1"})
    assert path.read_bytes().split(b"\n").count(BLOCK_LABEL.encode()) == 2


def test_crlf_kept_on_changed_and_added_lines(stock_crlf: Path) -> None:
    load_settings(stock_crlf).save({CUSTOMER_ID: "c7", REPORT_INTERVAL_HOURS: "12"})
    new = stock_crlf.read_bytes()
    assert b"confluent.support.customer.id=c7\r\n" in new
    assert new.endswith(b"\r\n" + BLOCK_LABEL.encode() +
                        b"\r\nconfluent.support.metrics.report.interval.hours=12\r\n")
    assert new.count(b"\n") == new.count(b"\r\n")


def test_file_without_final_newline_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "s.properties"
    path.write_bytes(b"confluent.support.customer.id : c1\r\nx=1\r\n"
                     b"confluent.support.customer.id : c2")
    load_settings(path).save({CUSTOMER_ID: "c3", PROXY: "http://h:1"})
    assert path.read_bytes() == (
        b"confluent.support.customer.id : c1\r\nx=1\r\nconfluent.support.customer.id : c3"
        b"\r\n\r\n# Confluent Proactive Support\r\nconfluent.support.proxy=http://h:1\r\n")


def test_invalid_change_leaves_the_file_untouched(stock: Path) -> None:
    before = os.stat(stock)
    sf = load_settings(stock)
    with pytest.raises(ValidationError, match=r"confluent.support.customer.id='bob' must be"):
        sf.save({PROXY: "http://p:1", CUSTOMER_ID: "bob"})
    with pytest.raises(ValidationError, match="not a Proactive Support setting"):
        sf.save({"log.dirs": "/x"})
    assert stock.read_bytes() == STOCK
    assert os.stat(stock).st_mtime_ns == before.st_mtime_ns
    assert not stock.with_name("server.properties.bak").exists()


def test_atomic_save_keeps_mode_and_leaves_no_temp_file(stock: Path) -> None:
    os.chmod(stock, 0o640)
    load_settings(stock).save({CUSTOMER_ID: "c5"})
    assert stat.S_IMODE(os.stat(stock).st_mode) == 0o640
    assert sorted(p.name for p in stock.parent.iterdir()) == [
        "server.properties", "server.properties.bak"]


def test_failed_rename_keeps_the_original_and_cleans_up(stock: Path, monkeypatch) -> None:
    real_replace = os.replace

    def failing_replace(src, dst):
        if Path(dst) == stock:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(settings_mod.os, "replace", failing_replace)
    with pytest.raises(PsError, match="No space left on device"):
        load_settings(stock).save({CUSTOMER_ID: "c5"})
    assert stock.read_bytes() == STOCK
    assert not [p for p in stock.parent.iterdir() if p.name.endswith(".tmp")]


def test_changed_on_disk_is_refused_unless_forced(stock: Path) -> None:
    sf = load_settings(stock)
    stock.write_bytes(STOCK + b"added.by.someone.else=1\n")
    with pytest.raises(FileChangedError, match="changed on disk"):
        sf.save({CUSTOMER_ID: "c9"})
    assert stock.read_bytes() == STOCK + b"added.by.someone.else=1\n"
    assert FileChangedError.exit_code == 1
    sf.save({CUSTOMER_ID: "c9"}, force=True)
    # Forced: our view of the file wins, and the other edit survives in the backup.
    assert b"added.by.someone.else" not in stock.read_bytes()
    assert b"added.by.someone.else" in stock.with_name("server.properties.bak").read_bytes()


def test_deleted_file_is_refused(stock: Path) -> None:
    sf = load_settings(stock)
    stock.unlink()
    with pytest.raises(FileChangedError, match="deleted"):
        sf.save({CUSTOMER_ID: "c9"})


def test_consecutive_saves_on_one_object(stock: Path) -> None:
    sf = load_settings(stock)
    sf.save({CUSTOMER_ID: "c1"})
    sf.save({CUSTOMER_ID: "c2"})
    assert load_settings(stock).effective[CUSTOMER_ID].value == "c2"
    assert b"customer.id=c1" in stock.with_name("server.properties.bak").read_bytes()


def test_symlinked_config_is_written_through(tmp_path: Path, stock: Path) -> None:
    link = tmp_path / "link.properties"
    link.symlink_to(stock)
    load_settings(link).save({CUSTOMER_ID: "c3"})
    assert link.is_symlink()
    assert b"customer.id=c3" in stock.read_bytes()
    assert stock.with_name("server.properties.bak").exists()


def test_diff_shows_what_a_save_writes(stock: Path) -> None:
    sf = load_settings(stock)
    diff = sf.diff({CUSTOMER_ID: "c1", TOPIC: "t"})
    assert "-confluent.support.customer.id=anonymous\n" in diff
    assert "+confluent.support.customer.id=c1\n" in diff
    assert f"+{BLOCK_LABEL}\n" in diff and "+confluent.support.metrics.topic=t\n" in diff
    assert sf.diff({CUSTOMER_ID: "anonymous"}) == ""
    assert stock.read_bytes() == STOCK


def test_missing_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        load_settings(tmp_path / "nope.properties")
    with pytest.raises(UsageError, match="is a directory"):
        load_settings(tmp_path)
    bad = tmp_path / "bad.properties"
    bad.write_text("a=1\nb=\\uZZZZ\n")
    with pytest.raises(UsageError, match=r"bad.properties: line 2: malformed"):
        load_settings(bad)


_values = {
    CUSTOMER_ID: st.from_regex(r"\A(anonymous|[cC][0-9]{1,30})\Z"),
    TOPIC: st.from_regex(r"\A[a-zA-Z0-9_-][a-zA-Z0-9._-]{0,20}\Z") | st.just(""),
    REPORT_INTERVAL_HOURS: st.integers(1, 876000).map(str),
    METRICS_ENABLE: st.sampled_from(["true", "false", "TRUE"]),
    PROXY: st.builds(lambda h, p: f"http://{h}:{p}",
                     st.from_regex(r"\A[a-z][a-z0-9.-]{0,10}\Z"), st.integers(1, 65535)),
}


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(_values)), st.just(None), min_size=1)
       .flatmap(lambda keys: st.fixed_dictionaries({k: _values[k] for k in keys})),
       st.booleans())
def test_saved_values_read_back_and_other_lines_stay(tmp_path_factory, changes, crlf) -> None:
    path = tmp_path_factory.mktemp("s") / "server.properties"
    original = STOCK.replace(b"\n", b"\r\n") if crlf else STOCK
    path.write_bytes(original)
    load_settings(path).save(changes)
    eff = load_settings(path).effective
    for key, raw in changes.items():
        assert eff[key].raw == raw and eff[key].problem is None
    new_props = load_properties(path.read_bytes().decode("latin-1"))
    old_props = load_properties(original.decode("latin-1"))
    assert {k: v for k, v in new_props.items() if k not in changes} == \
        {k: v for k, v in old_props.items() if k not in changes}
    # Every line that does not hold a changed key is still there, in the same order.
    eol = b"\r\n" if crlf else b"\n"
    kept = [line for line in original.split(eol)
            if not any(line.startswith(k.encode() + b"=") for k in changes)]
    new_lines = path.read_bytes().split(eol)
    it = iter(new_lines)
    assert all(line in it for line in kept)


def test_send_plan_follows_the_settings(tmp_path: Path) -> None:
    path = tmp_path / "server.properties"
    path.write_text("broker.id=1\n")
    assert load_settings(path).send_plan() == []  # no opt-in, no plan (CP 3.x's rule)
    path.write_text("broker.id=1\nconfluent.support.metrics.enable=true\n")
    assert load_settings(path).send_plan() == [
        ("topic", "__confluent.support.metrics"),
        ("https", "https://support-metrics.confluent.io/anon"),
        ("http", "http://support-metrics.confluent.io/anon")]
    path.write_text("broker.id=1\nconfluent.support.metrics.enable=true\n"
                    "confluent.support.metrics.topic=\n"
                    "confluent.support.metrics.endpoint.insecure.enable=false\n")
    assert load_settings(path).send_plan() == [
        ("https", "https://support-metrics.confluent.io/anon")]
    path.write_text("broker.id=1\nconfluent.support.metrics.enable=false\n")
    assert load_settings(path).send_plan() == []
