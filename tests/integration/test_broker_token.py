"""The broker token on a private sandbox: a broker restart, and only a restart, changes it."""

from __future__ import annotations

import pytest

from engine.reporting.tokens import TokenKeeper
from tests.support.cluster import registration_owner_of

pytestmark = pytest.mark.sandbox


def test_token_changes_on_restart_only(sandbox, tmp_path):
    # This test restarts a broker: it must run on its own sandbox, never the shared one.
    from tools.sandbox import kafka_sandbox

    assert sandbox.box.state_dir != kafka_sandbox.DEFAULT_STATE.resolve()
    zk = sandbox.zk_connect
    keeper = TokenKeeper(tmp_path)
    first_session = registration_owner_of(zk, 2)
    assert first_session is not None
    first = keeper.token(2, first_session)
    assert keeper.token(2, registration_owner_of(zk, 2)) == first
    assert TokenKeeper(tmp_path).token(2, registration_owner_of(zk, 2)) == first
    other = keeper.token(3, registration_owner_of(zk, 3))

    sandbox.box.stop_broker(2)
    sandbox.box.start_broker(2)

    session = registration_owner_of(zk, 2)
    assert session is not None and session != first_session
    second = TokenKeeper(tmp_path).token(2, session)
    assert second != first
    assert keeper.token(2, registration_owner_of(zk, 2)) == second
    assert keeper.token(3, registration_owner_of(zk, 3)) == other  # untouched broker
