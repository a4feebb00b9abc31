"""What happened to one report at one destination (the topic, HTTPS or HTTP)."""

from __future__ import annotations

from dataclasses import dataclass

DESTINATIONS = ("topic", "https", "http")


@dataclass(frozen=True)
class DestinationResult:
    """The outcome of sending one report to one destination.

    `detail` is one line for a person: a status code, an offset, or why it failed or was
    skipped. It never holds a secret (no proxy credentials, no record contents).
    """

    destination: str  # "topic" | "https" | "http"
    ok: bool
    detail: str
    skipped: bool = False  # not attempted at all; `ok` is then False
    # The destination refused this report for good (too large, a topic name it cannot
    # have): sending it again cannot help.
    permanent: bool = False

    def __post_init__(self) -> None:
        if self.destination not in DESTINATIONS:
            raise ValueError(f"unknown destination {self.destination!r}")


def skipped(destination: str, reason: str) -> DestinationResult:
    """A destination that was not attempted (disabled by a setting, dry run, ...)."""
    return DestinationResult(destination, False, f"skipped: {reason}", skipped=True)
