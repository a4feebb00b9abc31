"""Client properties from `--command-config` (librdkafka names), for every Kafka client."""

from __future__ import annotations

from pathlib import Path

from engine.errors import NotFound, UsageError


def load_client_config(path: str) -> dict[str, str]:
    """Read a client properties file. Missing file: NotFound; bad line: UsageError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"command config {path} does not exist") from None
    except OSError as exc:
        raise NotFound(f"cannot read command config {path}: {exc.strerror}") from None
    props: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise UsageError(f"{path}:{number}: expected key=value")
        props[key.strip()] = value.strip()
    return props
