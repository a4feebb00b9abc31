"""A client configuration being translated from Java's names to librdkafka's.

`Draft` holds what the file says and what librdkafka will get; the translators
(`java_sasl`, `java_tls`) take Java settings out of it and put librdkafka settings in, and
`client_config` passes on whatever is left. A librdkafka name the file also gives directly
must agree with its translation: two different answers to one question are refused rather
than one of them silently winning.
"""

from __future__ import annotations

from engine.errors import UsageError


class ClientConfigError(UsageError):
    """A client setting that cannot be used as written (exit 2). The message names the
    file and the setting and says what to write instead; it never holds a value."""


def java_trim(value: str) -> str:
    """`value` as Kafka's ConfigDef sees it: String.trim() drops every character up to
    U+0020 at both ends (Python's strip() would also drop other Unicode spaces)."""
    start, end = 0, len(value)
    while start < end and value[start] <= " ":
        start += 1
    while end > start and value[end - 1] <= " ":
        end -= 1
    return value[start:end]


class Draft:
    """See the module docstring. `source` names the file in messages."""

    def __init__(self, given: dict[str, str], source: str) -> None:
        self.given = {key: java_trim(value) for key, value in given.items()}
        self.source = source
        self.out: dict[str, str] = {}
        # librdkafka name -> the name the file used for it (only where they differ).
        self.origin: dict[str, str] = {}
        self.hints: list[str] = []
        self.used: set[str] = set()

    def has(self, key: str) -> bool:
        return key in self.given

    def take(self, key: str) -> str | None:
        """The file's value of `key` (None when absent); the key is then handled."""
        if key not in self.given:
            return None
        self.used.add(key)
        return self.given[key]

    def put(self, key: str, value: str, origin: str) -> None:
        """librdkafka gets `key`=`value`, translated from the file's `origin` setting."""
        if key in self.given and key != origin:
            self.used.add(key)
            if self.given[key] != value:
                raise self.error(origin, f"disagrees with {key}, which the file also "
                                         "gives: keep one of them")
        if key in self.out and self.out[key] != value:
            raise self.error(origin, f"disagrees with {self.origin.get(key, key)} about "
                                     f"{key}: keep one of them")
        self.out[key] = value
        if key != origin:
            self.origin[key] = origin

    def hint(self, key: str, text: str) -> None:
        self.hints.append(f"{self.source}: {key} {text}")

    def error(self, key: str, text: str) -> ClientConfigError:
        return ClientConfigError(f"{self.source}: {key} {text}")
