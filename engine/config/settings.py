"""The Proactive Support settings of a broker's `server.properties` (SPEC.md §4).

Reads the nine `confluent.support.*` keys with their defaults and rules, and writes
changes back so that every other byte of the file stays as it was. Saves are atomic,
keep a backup, and refuse to overwrite a file that someone changed in the meantime.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from engine.config.broker import BrokerConfig
from engine.config.properties import PropertiesDocument, escape_key, escape_value
from engine.errors import NotFound, PsError, UsageError, ValidationError
from engine.files import TooLarge, atomic_write, read_bounded

PREFIX = "confluent.support."

METRICS_ENABLE = "confluent.support.metrics.enable"
CUSTOMER_ID = "confluent.support.customer.id"
TOPIC = "confluent.support.metrics.topic"
REPORT_INTERVAL_HOURS = "confluent.support.metrics.report.interval.hours"
INSECURE_ENABLE = "confluent.support.metrics.endpoint.insecure.enable"
SECURE_ENABLE = "confluent.support.metrics.endpoint.secure.enable"
PROXY = "confluent.support.proxy"
SECURE_ENDPOINT = "confluent.support.metrics.endpoint.secure"
INSECURE_ENDPOINT = "confluent.support.metrics.endpoint.insecure"

KEYS: tuple[str, ...] = (
    METRICS_ENABLE, CUSTOMER_ID, TOPIC, REPORT_INTERVAL_HOURS, INSECURE_ENABLE,
    SECURE_ENABLE, PROXY, SECURE_ENDPOINT, INSECURE_ENDPOINT,
)

DEFAULTS: dict[str, str] = {
    METRICS_ENABLE: "true",
    CUSTOMER_ID: "anonymous",
    TOPIC: "__confluent.support.metrics",
    REPORT_INTERVAL_HOURS: "24",
    INSECURE_ENABLE: "true",
    SECURE_ENABLE: "true",
    PROXY: "",
    SECURE_ENDPOINT: "https://support-metrics.confluent.io",
    INSECURE_ENDPOINT: "http://support-metrics.confluent.io",
}

BLOCK_LABEL = "# Confluent Proactive Support"

# The agent sleeps for the interval; beyond a century a value is a typo, and it would
# overflow the timers that have to wait for it.
MAX_INTERVAL_HOURS = 876_000

_CUSTOMER_ID = re.compile(r"c[0-9]{1,30}", re.IGNORECASE)
_TOPIC = re.compile(r"[a-zA-Z0-9._-]{1,249}")

BOOLEAN_KEYS = frozenset({METRICS_ENABLE, INSECURE_ENABLE, SECURE_ENABLE})

# The largest broker config read: real ones are a few KiB; beyond this a file is something
# else, and parsing it would only cost time and memory.
MAX_CONFIG_BYTES = 1024 * 1024


class FileChangedError(PsError):
    """The file changed on disk after it was read; saving would lose that change."""


@dataclass(frozen=True)
class Setting:
    """One effective setting: typed `value`, the `raw` text from the file (None when
    absent), where it came from, and what is wrong with the raw text, if anything.

    When the file's value is invalid, `value` is the default and `problem` says why.
    """

    key: str
    value: bool | int | str
    raw: str | None
    source: str  # "file" or "default"
    problem: str | None = None
    line: int | None = None  # where in the file the deciding line starts


def customer_id_kind(cid: str) -> str:
    """Classify a customer id: "anonymous", "test" (c0), "customer" (c + digits) or
    "invalid". Case does not matter, as in CP."""
    if cid.lower() == "anonymous":
        return "anonymous"
    if cid.lower() == "c0":
        return "test"
    if _CUSTOMER_ID.fullmatch(cid):
        return "customer"
    return "invalid"


def _check_boolean(raw: str) -> str | None:
    if raw.lower() in ("true", "false"):
        return None
    hint = " (remove the blanks around it)" if raw.strip().lower() in ("true", "false") else ""
    return f"must be true or false{hint}"


def _check_customer_id(raw: str) -> str | None:
    if customer_id_kind(raw) != "invalid":
        return None
    return "must be 'anonymous', the test id 'c0', or 'c' followed by 1 to 30 digits"


def _check_topic(raw: str) -> str | None:
    if raw == "" or (_TOPIC.fullmatch(raw) and raw not in (".", "..")):
        return None
    return ("must be a legal Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -, "
            "not '.' or '..') or empty to disable topic reporting")


def _check_interval(raw: str) -> str | None:
    if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_INTERVAL_HOURS:
        return None
    return f"must be a whole number of hours from 1 to {MAX_INTERVAL_HOURS}"


def _url_problem(raw: str, scheme: str, base_path: bool) -> str | None:
    """What keeps `raw` from being a `scheme://host[:port]` URL (with a path if allowed)."""
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme.lower() != scheme or not raw.lower().startswith(f"{scheme}://"):
        return f"must start with {scheme}://"
    if not parts.hostname:
        return "has no host"
    if parts.username is not None or parts.password is not None:
        return "must not contain a user name or password"
    if parts.query or parts.fragment or raw.endswith(("?", "#")):
        return "must not contain a query or fragment"
    if not base_path and parts.path not in ("", "/"):
        return "must not contain a path"
    if not base_path and port is None:
        return "needs a port"
    if any(c.isspace() for c in raw):
        return "must not contain blanks"
    return None


def _check_proxy(raw: str) -> str | None:
    if raw == "":
        return None
    problem = _url_problem(raw, "http", base_path=False)
    return None if problem is None else f"must be empty or http://host:port ({problem})"


def _check_secure(raw: str) -> str | None:
    problem = _url_problem(raw, "https", base_path=True)
    return None if problem is None else f"must be an https:// base URL ({problem})"


def _check_insecure(raw: str) -> str | None:
    problem = _url_problem(raw, "http", base_path=True)
    return None if problem is None else f"must be an http:// base URL ({problem})"


_RULES: dict[str, Callable[[str], str | None]] = {
    METRICS_ENABLE: _check_boolean,
    CUSTOMER_ID: _check_customer_id,
    TOPIC: _check_topic,
    REPORT_INTERVAL_HOURS: _check_interval,
    INSECURE_ENABLE: _check_boolean,
    SECURE_ENABLE: _check_boolean,
    PROXY: _check_proxy,
    SECURE_ENDPOINT: _check_secure,
    INSECURE_ENDPOINT: _check_insecure,
}


def validate(key: str, raw: str) -> str | None:
    """The problem with `raw` as the value of `key`, or None when it is valid.

    Unknown keys are a problem too (with a "did you mean" hint when one is close).
    """
    rule = _RULES.get(key)
    if rule is None:
        return unknown_key_problem(key)
    return rule(raw)


def unknown_key_problem(key: str) -> str:
    """Why `key` cannot be set here: outside `confluent.support.*`, or not one of ours."""
    if not key.startswith(PREFIX):
        guess = PREFIX + key if PREFIX + key in _RULES else None
        hint = f"; did you mean {guess}?" if guess else ""
        return (f"is not a Proactive Support setting (only {PREFIX}* keys can be set "
                f"here){hint}")
    close = difflib.get_close_matches(key, KEYS, n=1, cutoff=0.75)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"is not a known Proactive Support setting{hint}"


def typed_value(key: str, raw: str) -> bool | int | str:
    """The typed value of a valid raw value: bool, int for the interval, else str."""
    if key in BOOLEAN_KEYS:
        return raw.lower() == "true"
    if key == REPORT_INTERVAL_HOURS:
        return int(raw)
    return raw


def check_changes(changes: dict[str, str]) -> None:
    """Raise ValidationError naming every key whose new value breaks its rule."""
    problems = [f"{key}={raw!r} {problem}" for key, raw in changes.items()
                if (problem := validate(key, raw)) is not None]
    if problems:
        raise ValidationError("; ".join(problems))


def _ends_with_our_block(doc: PropertiesDocument) -> bool:
    """True when the file ends with our labelled block: the label, then only plain
    one-line properties (so nothing after them can continue onto appended lines)."""
    for entry in reversed(doc.entries):
        body = entry.raw.rstrip("\r\n")
        if entry.kind == "comment" and body == BLOCK_LABEL:
            return True
        one_line = "\n" not in body and "\r" not in body
        continues = (len(body) - len(body.rstrip("\\"))) % 2 == 1
        if entry.kind != "property" or not one_line or continues:
            return False
    return False


def _check_only_changes(before: dict[str, str], text: str, changes: dict[str, str]) -> None:
    """Refuse a rendered file that Java would read with any other key changed than those
    set (a dangling continuation could merge the appended block into the line before)."""
    after = PropertiesDocument.parse(text).effective()
    for key in sorted(set(before) | set(after)):
        wanted = changes.get(key, before.get(key))
        if after.get(key) != wanted:
            raise ValidationError(f"refusing to save: the edit would also change how {key!r} "
                                  "reads (the file ends in a way Java would join with the "
                                  "new lines); fix the end of the file first")


def _read(path: Path) -> bytes:
    try:
        return read_bounded(path, MAX_CONFIG_BYTES)
    except TooLarge:
        raise UsageError(f"broker config {path} is larger than "
                         f"{MAX_CONFIG_BYTES // 1024} KiB: not a server.properties") from None
    except FileNotFoundError:
        # The operator named a file that is not there: a usage error (exit 2), as every
        # command's --help says of a bad broker config.
        raise UsageError(f"broker config {path} does not exist") from None
    except IsADirectoryError:
        raise UsageError(f"broker config {path} is a directory, not a file") from None
    except OSError as exc:
        raise NotFound(f"cannot read broker config {path}: {exc.strerror}") from None


class SettingsFile:
    """A broker config file loaded for its Proactive Support settings.

    Remembers what it read (a SHA-256 of the bytes) so that `save` can tell whether
    someone else changed the file since.
    """

    def __init__(self, path: Path, data: bytes) -> None:
        self.path = path
        self._load(data)

    def _load(self, data: bytes) -> None:
        self._data = data
        self._digest = hashlib.sha256(data).digest()
        # Java reads the file as ISO-8859-1; so do we, which maps every byte one to one.
        try:
            self._doc = PropertiesDocument.parse(data.decode("latin-1"))
        except UsageError as exc:
            # A malformed escape: Java would refuse the file too. Name the file.
            raise type(exc)(f"{self.path}: {exc}") from None

    @property
    def text(self) -> str:
        """The file's content as read (ISO-8859-1 decoded)."""
        return self._data.decode("latin-1")

    @property
    def backup_path(self) -> Path:
        """Where `save` keeps the previous content: beside the file, `.bak` appended."""
        target = self._target()
        return target.with_name(target.name + ".bak")

    @property
    def properties(self) -> dict[str, str]:
        """Every key in the file with its effective value (the last duplicate wins)."""
        return self._doc.effective()

    @property
    def broker(self) -> BrokerConfig:
        """What the file says about the broker itself: id, mode, listeners."""
        return BrokerConfig.from_properties(self.path, self.properties)

    @property
    def effective(self) -> dict[str, Setting]:
        """The nine settings in `KEYS` order, typed, with source and any problem."""
        result: dict[str, Setting] = {}
        for key in KEYS:
            entry = self._doc.find(key)
            if entry is None:
                result[key] = Setting(key, typed_value(key, DEFAULTS[key]), None, "default")
                continue
            raw = str(entry.value)
            problem = validate(key, raw)
            value = typed_value(key, DEFAULTS[key] if problem else raw)
            result[key] = Setting(key, value, raw, "file", problem, entry.line)
        return result

    def send_plan(self) -> list[tuple[str, str]]:
        """Where a report of this broker would go, in the order it is sent: (`topic`, the
        topic), (`https`, base URL), (`http`, base URL) as the settings enable them; empty
        when reporting is disabled. A dry run skips every destination, so this is what
        the console shows as the plan."""
        eff = self.effective
        if not eff[METRICS_ENABLE].value:
            return []
        plan: list[tuple[str, str]] = []
        if eff[TOPIC].value:
            plan.append(("topic", str(eff[TOPIC].value)))
        if eff[SECURE_ENABLE].value:
            plan.append(("https", str(eff[SECURE_ENDPOINT].value)))
        if eff[INSECURE_ENABLE].value:
            plan.append(("http", str(eff[INSECURE_ENDPOINT].value)))
        return plan

    def render(self, changes: dict[str, str]) -> str:
        """The file's text after `changes` (validated first): existing keys changed in
        place, missing ones appended in one labelled block with the file's line ending."""
        check_changes(changes)
        doc = PropertiesDocument.parse(self.text)
        missing = [key for key, value in changes.items() if not doc.set_value(key, value)]
        lines = [f"{escape_key(key)}={escape_value(changes[key])}" for key in missing]
        if lines and _ends_with_our_block(doc):
            # A later save adds to the block an earlier one wrote, not a second block.
            doc.append_lines(lines, separate=False)
        elif lines:
            doc.append_lines([BLOCK_LABEL, *lines])
        _check_only_changes(self.properties, doc.text, changes)
        return doc.text

    def diff(self, changes: dict[str, str]) -> str:
        """A unified diff of what `save(changes)` would write ('' when nothing changes)."""
        before = self.text.splitlines(keepends=True)
        after = self.render(changes).splitlines(keepends=True)
        lines = difflib.unified_diff(before, after, f"{self.path}", f"{self.path} (new)")
        # Line endings are the file's business; a diff shows them as plain newlines.
        return "".join(line.rstrip("\r\n") + "\n" for line in lines)

    def _target(self) -> Path:
        # Replacing a symlink by a regular file would detach the broker's config from
        # wherever the link points; write to the real file instead.
        return Path(os.path.realpath(self.path))

    def save(self, changes: dict[str, str], force: bool = False) -> Path:
        """Validate and write `changes` atomically; return the backup's path.

        Raises ValidationError (file untouched) for a bad key or value, and
        FileChangedError when the file changed on disk since it was read, unless `force`.
        """
        new_text = self.render(changes)
        target = self._target()
        try:
            current = target.read_bytes()
        except FileNotFoundError:
            current = None
        except OSError as exc:
            raise NotFound(f"cannot read broker config {self.path}: {exc.strerror}") from None
        if not force and (current is None or hashlib.sha256(current).digest() != self._digest):
            what = "was deleted" if current is None else "changed on disk"
            raise FileChangedError(f"{self.path} {what} since it was read; "
                                   "reload it, or force the save to overwrite")
        try:
            mode = stat.S_IMODE(target.stat().st_mode)
        except FileNotFoundError:
            mode = 0o644
        backup = self.backup_path
        if current is not None:
            _atomic_write(backup, current, mode)
        new_data = new_text.encode("latin-1")
        _atomic_write(target, new_data, mode)
        self._load(new_data)
        return backup


def _atomic_write(target: Path, data: bytes, mode: int) -> None:
    """Write `data` to `target` atomically, keeping its mode and, where allowed, owner."""
    try:
        atomic_write(target, data, mode=mode, keep_owner=True)
    except OSError as exc:
        raise PsError(f"cannot write {target}: {exc.strerror or exc}") from None


def load_settings(path: str | os.PathLike[str]) -> SettingsFile:
    """Read a broker config file. Missing or a directory: UsageError (exit 2); there but
    unreadable: NotFound (exit 1)."""
    file_path = Path(path)
    return SettingsFile(file_path, _read(file_path))
