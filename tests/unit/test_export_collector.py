"""The export pauses Python's cyclic collector while it runs, and only while it runs."""

from __future__ import annotations

import gc
import threading

import pytest

from engine.reading import bundle


@pytest.fixture(autouse=True)
def _collector_restored():
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_the_collector_runs_again_after_an_export_even_one_that_failed():
    gc.enable()
    with pytest.raises(RuntimeError), bundle._collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("the read failed")
    assert gc.isenabled()


def test_overlapping_exports_resume_it_when_the_last_one_ends():
    gc.enable()
    first_in, first_may_end = threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with bundle._collector_paused():
            first_in.set()
            first_may_end.wait(10)
            seen.append(gc.isenabled())

    t = threading.Thread(target=first)
    t.start()
    assert first_in.wait(10)
    with bundle._collector_paused():
        pass
    # The second export ended while the first still runs: still paused.
    assert not gc.isenabled()
    first_may_end.set()
    t.join(10)
    assert seen == [False]
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_program_stays_off():
    gc.disable()
    with bundle._collector_paused():
        pass
    assert not gc.isenabled()
