"""Text for people: sizes, one way everywhere (the CLI, the console, logs)."""

from __future__ import annotations

_UNITS = ("KiB", "MiB", "GiB", "TiB")


def format_size(n: int) -> str:
    """`812 B`, `4.3 KiB`, `1.2 MiB`, ... (binary units, one decimal)."""
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in _UNITS:
        value /= 1024
        if value < 1024 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")
