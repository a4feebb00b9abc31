"""The broker-token file shared by several processes (the agent and `ps-console report`)."""

from __future__ import annotations

import json
import logging
import multiprocessing
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from engine.reporting.tokens import LOCK_FILE, STATE_FILE, TokenKeeper

fcntl = pytest.importorskip("fcntl")

PROCESSES = 8
ROUNDS = 15
BROKER = 7

# Holds the lock file given as argv[1] until its stdin closes (which also happens if the
# test process dies, so it cannot outlive the test).
_HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


def _ask_in_rounds(state_dir: str, barrier, results, rounds: int) -> None:
    for r in range(rounds):
        barrier.wait(timeout=30)
        # A fresh keeper per round, as `report_now` makes one per report.
        results.put((r, TokenKeeper(state_dir).token(BROKER, 1000 + r)))


def test_processes_seeing_a_new_session_together_mint_one_token(tmp_path):
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [ctx.Process(target=_ask_in_rounds, args=(str(tmp_path), barrier, results, ROUNDS))
             for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    try:
        by_round: dict[int, set[str]] = {r: set() for r in range(ROUNDS)}
        for _ in range(PROCESSES * ROUNDS):
            r, token = results.get(timeout=30)
            by_round[r].add(token)
        for p in procs:
            p.join(timeout=10)
            assert p.exitcode == 0
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(timeout=5)

    minted = [len(tokens) for tokens in by_round.values()]
    assert minted == [1] * ROUNDS, f"tokens minted per round: {minted}"
    assert len({next(iter(tokens)) for tokens in by_round.values()}) == ROUNDS
    state = json.loads((tmp_path / STATE_FILE).read_text())
    last = next(iter(by_round[ROUNDS - 1]))
    assert state == {str(BROKER): {"session": 1000 + ROUNDS - 1, "token": last}}


@pytest.fixture
def lock_holder(tmp_path):
    """Another process holding the token lock of `tmp_path`; call it to let go."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path / LOCK_FILE)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        yield proc.stdin.close
    finally:
        if not proc.stdin.closed:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def test_a_stuck_lock_holder_delays_the_token_by_the_bound_only(tmp_path, lock_holder, caplog):
    keeper = TokenKeeper(tmp_path, lock_wait_s=0.5)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="engine.reporting.tokens"):
        token = keeper.token(1, 5)
    elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 0.5 + 2.0
    assert "still locked" in caplog.text
    assert json.loads((tmp_path / STATE_FILE).read_text())["1"]["token"] == token


def test_the_token_waits_for_a_short_lock(tmp_path, lock_holder, caplog):
    release = threading.Timer(0.3, lock_holder)
    release.start()
    try:
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="engine.reporting.tokens"):
            TokenKeeper(tmp_path, lock_wait_s=10).token(1, 5)
        elapsed = time.monotonic() - started
    finally:
        release.cancel()
    assert 0.3 <= elapsed < 5
    assert caplog.text == ""


def test_no_lock_file_possible_still_gives_tokens(tmp_path, caplog):
    state = {"1": {"session": 5, "token": "known"}}
    (tmp_path / STATE_FILE).write_text(json.dumps(state))
    (tmp_path / LOCK_FILE).mkdir()  # unopenable as a file, even for root
    keeper = TokenKeeper(tmp_path)
    with caplog.at_level(logging.WARNING, logger="engine.reporting.tokens"):
        assert keeper.token(1, 5) == "known"
        fresh = keeper.token(2, 9)
    assert "unlocked" in caplog.text
    assert json.loads((tmp_path / STATE_FILE).read_text())["2"]["token"] == fresh


def test_the_lock_file_is_made_with_the_state_folder(tmp_path: Path):
    folder = tmp_path / "not" / "yet"
    token = TokenKeeper(folder).token(1, 5)
    assert (folder / LOCK_FILE).is_file()
    assert TokenKeeper(folder).token(1, 5) == token
