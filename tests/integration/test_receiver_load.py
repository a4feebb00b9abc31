"""A bounded load test of `ps-console receive` (issue 19): 200 concurrent posts of real
reports and 20 slow clients against one receiver process on 127.0.0.1.

Every report is stored exactly once (posts over the connection cap get 503 and are sent
again, as an agent keeps a report it could not deliver), the receiver's peak memory stays
bounded, and every slow client is cut off at the header deadline.
"""

from __future__ import annotations

from collections import Counter

from engine.reporting.receiver import ReceiverLimits
from engine.reporting.records import decode
from tools.receive_load import run_load, start_receive, unique_reports

POSTS = 200
SLOW = 20
# Peak RSS of the receiver process over its idle size: bodies are at most 1 MiB and are
# freed once stored; 200 reports of a few KiB must not come near this.
PEAK_GROWTH_KIB = 64 * 1024


def test_200_concurrent_posts_and_20_slow_clients(tmp_path):
    reports = unique_reports(POSTS)
    rp = start_receive("--dir", str(tmp_path))
    try:
        idle_peak = rp.status_kib("VmHWM")
        result = run_load(rp.url, reports, slow=SLOW, slow_budget=20)
        peak = rp.status_kib("VmHWM")
    finally:
        code = rp.stop()
    assert code == 0, rp.errors[-5:]

    assert Counter(result.statuses) == {200: POSTS}, Counter(result.statuses)
    assert not result.transport_errors  # at this size every post gets an answer
    stored = sorted(tmp_path.iterdir())
    assert len(stored) == POSTS
    tokens = Counter(decode(f.read_bytes()).record["brokerProcessUUID"] for f in stored)
    sent = Counter(decode(v).record["brokerProcessUUID"] for v in reports)
    assert tokens == sent  # each report once: none lost, none twice

    deadline = ReceiverLimits().header_timeout
    assert all(t is not None and t < deadline + 3 for t in result.slow_closed_after), \
        result.slow_closed_after
    assert peak - idle_peak < PEAK_GROWTH_KIB, (idle_peak, peak)
    assert len([line for line in rp.lines if line.startswith("received /anon ")]) == POSTS
