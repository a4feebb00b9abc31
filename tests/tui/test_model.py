"""Pure rules of the console's model (no terminal, no cluster)."""

from engine.reading.report import Report
from tui.model import customer_kind


def _report(schema: str | None, record: dict | None, ok: bool = True) -> Report:
    return Report(partition=0, offset=1, broker_id=1, schema=schema, size=1,
                  error=None if ok else "bad", fields=record)


def test_customer_kind_prefers_the_broker_settings_the_console_was_given():
    enhanced = _report("SupportKafkaMetricsEnhanced", {"brokerMetrics": {}})
    assert customer_kind(enhanced) == "customer"  # the report alone cannot tell c0 apart
    assert customer_kind(enhanced, "c0") == "test"
    assert customer_kind(enhanced, "C12345") == "customer"
    assert customer_kind(None, "anonymous") == "anonymous"
    assert customer_kind(None, "bogus") == "invalid"


def test_customer_kind_from_the_report_alone():
    assert customer_kind(_report("SupportKafkaMetricsBasic", {})) == "anonymous"
    assert customer_kind(_report(None, None, ok=False)) == "-"
    assert customer_kind(None) == "-"
