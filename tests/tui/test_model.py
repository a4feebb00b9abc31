"""Pure rules of the console's model (no terminal, no cluster)."""

from engine.reporting.records import DecodedRecord
from tui.model import ReportRow, customer_kind


def _row(schema: str | None, record: dict | None, ok: bool = True) -> ReportRow:
    return ReportRow(key="p0@1", broker_id=1, timestamp_ms=0,
                     decoded=DecodedRecord(ok, schema, record, None if ok else "bad"), size=1)


def test_customer_kind_prefers_the_broker_settings_the_console_was_given():
    enhanced = _row("SupportKafkaMetricsEnhanced", {"brokerMetrics": {}})
    assert customer_kind(enhanced) == "customer"  # the report alone cannot tell c0 apart
    assert customer_kind(enhanced, "c0") == "test"
    assert customer_kind(enhanced, "C12345") == "customer"
    assert customer_kind(None, "anonymous") == "anonymous"
    assert customer_kind(None, "bogus") == "invalid"


def test_customer_kind_from_the_report_alone():
    assert customer_kind(_row("SupportKafkaMetricsBasic", {})) == "anonymous"
    assert customer_kind(_row(None, None, ok=False)) == "-"
    assert customer_kind(None) == "-"
