"""engine.config.settings.decide / SettingsFile.plan: what the agent does with a file.

CP 3.x's rules where CP was safe (Boolean.parseBoolean for the opt-in, Long.parseLong for the
interval, an invalid customer id reported anonymously), fail closed where it was not (an
invalid topic or HTTP setting stops that destination)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.config.settings import (
    CUSTOMER_ID,
    INSECURE_ENABLE,
    INSECURE_ENDPOINT,
    KEYS,
    METRICS_ENABLE,
    PROXY,
    REPORT_INTERVAL_HOURS,
    SECURE_ENABLE,
    SECURE_ENDPOINT,
    TOPIC,
    decide,
    java_boolean,
    load_settings,
)
from engine.errors import ValidationError
from engine.reporting.submit_http import HttpSettings


def plan_of(**raw: str):
    names = {"enable": METRICS_ENABLE, "interval": REPORT_INTERVAL_HOURS, "topic": TOPIC,
             "cid": CUSTOMER_ID, "insecure": INSECURE_ENABLE, "secure": SECURE_ENABLE,
             "proxy": PROXY, "secure_url": SECURE_ENDPOINT, "insecure_url": INSECURE_ENDPOINT}
    given_raw: dict[str, str | None] = dict.fromkeys(KEYS)
    for short, text in raw.items():
        given_raw[names[short]] = text
    return decide(given_raw)


@pytest.mark.parametrize("text", ["true", "TRUE", "True", "tRuE"])
def test_only_true_in_any_case_enables(text: str) -> None:
    settings, plan = plan_of(enable=text)
    assert plan.enabled and plan.state == "enabled" and plan.reason is None
    assert settings[METRICS_ENABLE].value is True
    assert all(r.target for r in plan.routes if r.destination != "http") and plan.routes


@pytest.mark.parametrize("text", [None, "", "false", "FALSE", "false ", "true ", " true",
                                  "no", "0", "off", "yes", "1", "on", "ture", "\ttrue"])
def test_anything_else_disables_every_destination(text: str | None) -> None:
    raw = {} if text is None else {"enable": text}
    settings, plan = plan_of(**raw)
    assert plan.state == "disabled" and not plan.enabled
    assert METRICS_ENABLE in plan.reason and "nothing is collected or sent" in plan.reason
    assert [r.target for r in plan.routes] == [None, None, None]
    assert all(r.reason == plan.reason for r in plan.routes)
    assert settings[METRICS_ENABLE].value is False
    assert settings[METRICS_ENABLE].effect.startswith("disabled")
    assert java_boolean(text) is False


def test_the_reason_names_what_is_easy_to_miss() -> None:
    _, trailing = plan_of(enable="false ")
    assert "'false ' (it has a trailing blank) is not 'true'" in trailing.reason
    _, missing = plan_of()
    assert "is not in the file" in missing.reason
    _, plain = plan_of(enable="false")
    assert plain.reason.startswith(f"{METRICS_ENABLE}=false")


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "abc", "12 ", "0x10",
                                  "9223372036854775808", "876001", " 12"])
def test_an_interval_cp_refused_refuses_the_plan(text: str) -> None:
    settings, plan = plan_of(enable="true", interval=text)
    assert plan.state == "refused" and not plan.enabled
    assert REPORT_INTERVAL_HOURS in plan.reason and "whole number of hours" in plan.reason
    assert repr(text) in plan.reason
    assert [r.target for r in plan.routes] == [None, None, None]
    assert settings[REPORT_INTERVAL_HOURS].value is None
    assert "stops the agent" in settings[REPORT_INTERVAL_HOURS].effect
    assert plan.interval_hours is None


def test_an_invalid_interval_does_not_matter_while_reporting_is_off() -> None:
    _, plan = plan_of(enable="false", interval="abc")
    assert plan.state == "disabled"  # CP never read the interval then


@pytest.mark.parametrize(("text", "hours"), [("", 24), ("+12", 12), ("012", 12),
                                             ("\u0661\u0662", 12), ("876000", 876000)])
def test_intervals_java_reads(text: str, hours: int) -> None:
    _, plan = plan_of(enable="true", interval=text)
    assert plan.enabled and plan.interval_hours == hours


def test_an_invalid_topic_stops_the_topic_and_only_it() -> None:
    settings, plan = plan_of(enable="true", topic="a b")
    topic = plan.route("topic")
    assert topic.target is None and "'a b'" in topic.reason and "legal Kafka topic" in topic.reason
    assert plan.route("https").target and settings[TOPIC].value is None
    assert "no report to any topic" in settings[TOPIC].effect


@pytest.mark.parametrize(("short", "text"), [
    ("insecure", "flase"), ("insecure", "true "), ("secure", "yes"),
    ("secure_url", "http://h"), ("insecure_url", "https://h"), ("proxy", "proxy:3128"),
])
def test_an_invalid_http_setting_stops_https_and_http(short: str, text: str) -> None:
    settings, plan = plan_of(enable="true", **{short: text})
    assert plan.route("https").target is None and plan.route("http").target is None
    assert "which stops HTTPS and HTTP" in plan.route("https").reason
    assert plan.route("topic").target  # the topic is not an HTTP destination
    bad = next(s for s in settings.values() if s.problem)
    assert bad.value is None and "stops HTTPS and HTTP" in bad.effect
    if short == "proxy":
        assert text not in plan.route("https").reason  # a proxy may hold credentials


def test_http_routes_follow_the_flags_and_the_customer_id() -> None:
    _, plan = plan_of(enable="true", cid="c0")
    assert plan.schema == "enhanced"
    assert plan.route("https").target == "https://support-metrics.confluent.io/test"
    assert plan.route("http").note == "only when HTTPS fails"
    _, plan = plan_of(enable="true", secure="false", insecure="false", cid="c42")
    assert plan.route("https").target is None and plan.route("http").target is None
    assert "secure.enable=false" in plan.route("https").reason
    _, plan = plan_of(enable="true", secure="false", insecure_url="http://r:8080/")
    assert plan.route("http").target == "http://r:8080/anon"
    assert "clear text" in plan.route("http").note


def test_an_invalid_customer_id_is_reported_anonymously_as_cp_did() -> None:
    settings, plan = plan_of(enable="true", cid="bob")
    assert plan.customer_id == "anonymous" and plan.schema == "basic"
    assert settings[CUSTOMER_ID].problem and "as CP did" in settings[CUSTOMER_ID].effect
    assert plan.route("https").target.endswith("/anon")


TEXT = st.one_of(st.none(), st.sampled_from(["", "true", "TRUE", "false", "false ", "0", "24",
                                             "abc", "c0", "c12", "..", "http://p:3128",
                                             "https://h", "http://h", "12 "]), st.text(max_size=12))


@given(st.fixed_dictionaries({key: TEXT for key in KEYS}))
def test_one_decision_every_reader_agrees_with(raw: dict[str, str | None]) -> None:
    settings, plan = decide(raw)
    assert plan.enabled == (java_boolean(raw[METRICS_ENABLE])
                            and settings[REPORT_INTERVAL_HOURS].value is not None)
    for route in plan.routes:
        assert (route.target is None) != (route.reason is None)
    for setting in settings.values():
        assert setting.effect
        if setting.problem:
            # Never "using the default" for a value that does something else.
            assert "default" not in setting.effect.lower(), setting
    # The HTTP submitter refuses exactly what the plan stops (when reporting is on).
    props = {key: text for key, text in raw.items() if text is not None}
    try:
        HttpSettings.from_properties(props)
        refused = False
    except ValidationError:
        refused = True
    if plan.enabled:
        http_stopped = any(r.reason and "which stops HTTPS and HTTP" in r.reason
                           for r in plan.routes)
        assert refused == http_stopped


def test_the_file_plan_reads_the_deciding_line(tmp_path: Path) -> None:
    path = tmp_path / "server.properties"
    # Java keeps the trailing blank; the last duplicate wins.
    path.write_bytes(b"broker.id=1\nconfluent.support.metrics.enable=true\n"
                     b"confluent.support.metrics.enable=false \n")
    loaded = load_settings(path)
    assert loaded.plan.state == "disabled"
    assert loaded.effective[METRICS_ENABLE].line == 3
    assert "trailing blank" in loaded.plan.reason
