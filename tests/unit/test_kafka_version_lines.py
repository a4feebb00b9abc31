"""The release line the version probe names from the ApiVersions answers real brokers gave:
the Kafka 3.9.2 and 4.4.0 sandboxes' (ApiVersions v0, PLAINTEXT listener, recorded
2026-12-02; the integration tests ask the live brokers too, tests/integration/
test_collector.py)."""

from __future__ import annotations

import pytest

from engine.cluster.kafka_version import RELEASE_MARKERS, release_line


def _answer(text: str) -> dict[int, tuple[int, int]]:
    pairs = (item.split(":") for item in text.split())
    return {int(key): tuple(int(v) for v in span.split("-")) for key, span in pairs}  # type: ignore[misc]


KAFKA_392 = _answer(
    "0:0-11 1:0-17 2:0-9 3:0-12 4:0-7 5:0-4 6:0-8 7:0-3 8:0-9 9:0-9 10:0-6 11:0-9 12:0-4 "
    "13:0-5 14:0-5 15:0-5 16:0-5 17:0-1 18:0-4 19:0-7 20:0-6 21:0-2 22:0-5 23:0-4 24:0-5 "
    "25:0-4 26:0-4 27:0-1 28:0-4 29:0-3 30:0-3 31:0-3 32:0-4 33:0-2 34:0-2 35:0-4 36:0-2 "
    "37:0-3 38:0-3 39:0-2 40:0-2 41:0-3 42:0-2 43:0-2 44:0-1 45:0-0 46:0-0 47:0-0 48:0-1 "
    "49:0-1 50:0-0 51:0-0 56:0-3 57:0-1 58:0-0 60:0-1 61:0-0 65:0-0 66:0-1 67:0-0 68:0-0 "
    "69:0-0")
KAFKA_440 = _answer(
    "0:0-13 1:4-18 2:1-11 3:0-13 8:2-10 9:1-10 10:0-6 11:0-9 12:0-4 13:0-5 14:0-5 15:0-6 "
    "16:0-5 17:0-1 18:0-5 19:2-7 20:1-6 21:0-2 22:0-5 23:2-4 24:0-5 25:0-4 26:0-5 27:1-2 "
    "28:0-6 29:1-3 30:1-3 31:1-3 32:1-4 33:0-2 34:1-2 35:1-5 36:0-2 37:0-3 38:1-3 39:1-2 "
    "40:1-2 41:1-3 42:0-3 43:0-2 44:0-1 45:0-1 46:0-0 47:0-0 48:0-1 49:0-1 50:0-0 51:0-0 "
    "55:0-2 57:0-2 60:0-2 61:0-0 64:0-0 65:0-0 66:0-2 68:0-1 69:0-1 74:0-1 75:0-0 76:1-1 "
    "77:1-1 78:1-2 79:1-2 80:0-1 81:0-0 83:0-0 84:0-0 85:0-1 86:0-0 87:0-1 88:0-1 89:0-1 "
    "90:0-1 91:0-0 92:0-0 93:0-0 94:0-0")


@pytest.mark.parametrize("answer, line", [(KAFKA_392, "3.9.x"), (KAFKA_440, "4.4.x or newer")])
def test_real_brokers_are_named_by_their_line(answer: dict[int, tuple[int, int]], line: str
                                              ) -> None:
    assert release_line(answer) == line


def test_every_marker_older_than_4_4_holds_on_the_4_4_broker() -> None:
    """New API versions arrive with releases and stay: the 4.4 broker proves every older
    marker too (a marker it failed would be a wrong marker)."""
    for label, key, lowest_max in RELEASE_MARKERS:
        assert KAFKA_440[key][1] >= lowest_max, label
    newer_than_39 = [m for m in RELEASE_MARKERS if m[0].startswith("4.")]
    assert all(KAFKA_392.get(key, (0, -1))[1] < lowest for _, key, lowest in newer_than_39)
