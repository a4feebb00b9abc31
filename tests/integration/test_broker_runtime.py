"""No report from a broker that is not running, and a new token for a new runtime (issue 18,
2 and 3), on a private sandbox whose broker 2 this file kills and starts again. Refused on
the shared sandbox (`make sandbox-up`, PS_SANDBOX_REUSE=1); a private one is fine."""

from __future__ import annotations

import json
import re
import time
from itertools import pairwise

import pytest

from engine.errors import ConnectionFailure
from engine.reading.reports import to_report
from engine.reporting.receiver import Receiver
from tests.support.agent_helpers import AgentProcess, agent_config, run_cli
from tests.support.cluster import topic_records
from tests.support.ps_report_helpers import delete_topics, unique_topic
from tools.sandbox.kafka_sandbox import CACHE

pytestmark = pytest.mark.sandbox

VICTIM = 2
_REPORT = re.compile(rf"report broker={VICTIM} ")
_TOKEN = re.compile(rf"broker {VICTIM} runtime: token ([0-9a-f-]{{36}})")


@pytest.fixture
def private_box(sandbox):
    if sandbox.box.state_dir.resolve() == (CACHE / "run").resolve():
        pytest.fail("refusing to stop a broker of the shared sandbox")
    return sandbox.box


def _reports(sandbox, topic: str) -> list:
    """The victim's reports in the topic. Its partition's leader may be the broker just
    killed: the read is retried (bounded) until a new leader is elected."""
    deadline = time.monotonic() + 45
    while True:
        try:
            records = topic_records(sandbox.bootstrap, topic, timeout=5)
            break
        except ConnectionFailure:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    return [r for r in map(to_report, records) if r.broker_id == VICTIM]


def test_a_stopped_broker_gets_no_report_and_its_return_a_new_token(sandbox, private_box,
                                                                    tmp_path):
    topic = unique_topic("ps-runtime")
    down = False
    with Receiver() as http:
        config = agent_config(sandbox, VICTIM, tmp_path, topic, http.url)
        agent = AgentProcess(config, tmp_path / "state", interval=1,
                             extra=["--timeout", "3"])
        try:
            agent.wait_log(lambda t: len(_REPORT.findall(t)) >= 2, 90, "two reports")
            before = {r.token for r in _reports(sandbox, topic)}
            assert len(before) == 1

            # Killed: ZooKeeper keeps its registration for a session timeout (6 s here),
            # but the agent saw its JVM and knows at once that it is gone.
            private_box.stop_broker(VICTIM, kill=True)
            down = True
            time.sleep(3)  # a report made just before the kill may still be in flight
            made, posted = len(_REPORT.findall(agent.log)), len(http.received)
            in_topic = len(_reports(sandbox, topic))
            time.sleep(8)  # eight intervals, past the session timeout
            assert len(_REPORT.findall(agent.log)) == made, agent.log
            assert len(http.received) == posted and len(_reports(sandbox, topic)) == in_topic
            waits = re.findall(r"waiting, nothing sent: (.*)", agent.log)
            assert waits and len(set(waits)) == len(waits) <= 2, waits  # each reason once
            assert f"broker {VICTIM}'s JVM seen on this host is gone" in waits[0]

            # `report` from another state folder: nothing for a broker that does not run.
            refused = run_cli("report", "--broker-config", str(config), "--token-dir",
                              str(tmp_path / "other"), timeout=60)
            assert len(http.received) == posted
            assert refused.returncode == 1
            lines = refused.stderr.strip().splitlines()
            assert len(lines) == 1 and f"broker {VICTIM} is not registered" in lines[0]

            private_box.start_broker(VICTIM)
            down = False
            back_at = time.monotonic()
            agent.wait_log(lambda t: len(_REPORT.findall(t)) > made, 30, "a report on return")
            assert time.monotonic() - back_at < 10  # at once, not after an interval
            after = {r.token for r in _reports(sandbox, topic)} - before
            assert len(after) == 1, after  # a new runtime, a new token
            tokens = [*before, *after]
            assert _TOKEN.findall(agent.log) == tokens, agent.log

            again = run_cli("report", "--broker-config", str(config), "--token-dir",
                            str(tmp_path / "other"), "--json", timeout=120)
            assert again.returncode == 0, again.stderr
            assert json.loads(again.stdout)["fields"]["brokerProcessUUID"] == tokens[1]
            code, took = agent.terminate()
            assert code == 0 and took < 10, agent.log
            reports = _reports(sandbox, topic)
        finally:
            if down:
                private_box.start_broker(VICTIM)
            agent.stop()
            delete_topics(sandbox.bootstrap, topic)

    # Every report speaks for a running broker: the first runtime's, then the second's.
    seen = [r.token for r in reports]
    assert seen == sorted(seen, key=lambda t: 0 if t == tokens[0] else 1)
    assert set(seen) == set(tokens)
    # In the order they were made, but for the one `report` from another process, which
    # raced the agent's own reports of the same seconds to the topic.
    stamps = [r.time_s for r in reports]
    assert all(later >= earlier - 2 for earlier, later in pairwise(stamps)), stamps
    assert "Traceback" not in agent.log
