"""The Proactive Support settings of a broker's `server.properties`.

Reads the nine `confluent.support.*` keys with their defaults and rules, and writes
changes back so that every other byte of the file stays as it was. Saves are atomic,
keep a backup, and refuse to overwrite a file that someone changed in the meantime.

This module is also the one place that decides what the agent does with a file:
`SettingsFile.plan` (reporting on, off or refused, and where each report goes) and each
`Setting.effect`. The agent, `ps-console report`, `settings show` and the console all show
that decision; none of them decides on its own. The decision follows CP 3.x where CP was
safe (`Boolean.parseBoolean` for the opt-in, `Long.parseLong` for the interval, an invalid
customer id reported anonymously) and fails closed where it was not (an invalid topic or
HTTP setting stops that destination instead of sending somewhere else or in clear text).
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, replace
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

# What applies when a key is missing. The opt-in is off unless the file says `true`, as in
# CP 3.x (`getProperty(key, "false")`); CP's shipped server.properties carried `=true`.
DEFAULTS: dict[str, str] = {
    METRICS_ENABLE: "false",
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
# What Java's Long.parseLong accepts: a sign, then decimal digits (any script's, as Java's
# Character.digit); 19 digits hold every long, so longer text never reaches int().
_JAVA_LONG = re.compile(r"[+-]?(\d{1,19})")
_LONG_MAX = 2**63 - 1
_TOPIC = re.compile(r"[a-zA-Z0-9._-]{1,249}")

BOOLEAN_KEYS = frozenset({METRICS_ENABLE, INSECURE_ENABLE, SECURE_ENABLE})

# The largest broker config read: real ones are a few KiB; beyond this a file is something
# else, and parsing it would only cost time and memory.
MAX_CONFIG_BYTES = 1024 * 1024


class FileChangedError(PsError):
    """The file changed on disk after it was read; saving would lose that change."""


@dataclass(frozen=True)
class Setting:
    """One setting as the agent uses it: the typed `value` it acts on (None when the raw
    text stops what the setting drives), the `raw` text from the file (None when absent),
    where it came from, what is wrong with the raw text, if anything, and `effect`: one
    line saying what the agent does because of it."""

    key: str
    value: bool | int | str | None
    raw: str | None
    source: str  # "file" or "default"
    problem: str | None = None
    line: int | None = None  # where in the file the deciding line starts
    effect: str = ""

    @property
    def explanation(self) -> str:
        """One line for people: what is wrong with the raw text, if anything, then the
        effect (the opt-in's effect already quotes its text and says why it is off)."""
        if self.problem and self.raw is not None and self.key != METRICS_ENABLE:
            return f"{shown(self.key, self.raw)} {self.problem}; {self.effect}"
        return self.effect


STATE_ENABLED = "enabled"
STATE_DISABLED = "disabled"
STATE_REFUSED = "refused"


@dataclass(frozen=True)
class Route:
    """One destination of a report under a file's settings: `target` (a topic name or the
    full URL) when reports go there, else `reason` says why none does. `note` qualifies a
    target (HTTP is only the fallback of HTTPS)."""

    destination: str  # "topic" | "https" | "http"
    target: str | None
    reason: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Plan:
    """What the agent does with one file: the decision every sender and screen shows.

    `state` is "enabled", "disabled" (nothing is collected or sent, the agent keeps
    watching the file) or "refused" (a setting CP refused: the agent does not start, and
    `report` sends nothing; exit 2). `reason` is one line saying why when not enabled.
    """

    state: str
    reason: str | None
    interval_hours: int | None
    customer_id: str  # the id reports carry: "anonymous" stands in for an invalid one
    schema: str  # "basic" | "enhanced"
    routes: tuple[Route, ...]
    proxy: str | None = None

    @property
    def enabled(self) -> bool:
        """True when reports are made (some destinations may still be off)."""
        return self.state == STATE_ENABLED

    def route(self, destination: str) -> Route:
        """The route of one destination."""
        return next(r for r in self.routes if r.destination == destination)

    @property
    def summary(self) -> str:
        """One line: what the agent does with this file."""
        if not self.enabled:
            return f"{self.state}: {self.reason}"
        going = [r.destination for r in self.routes if r.target]
        where = ", ".join(going) if going else "no destination: nothing leaves the host"
        kind = "an Enhanced" if self.schema == "enhanced" else "a Basic"
        return f"enabled: {kind} report every {self.interval_hours} h to {where}"


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


def java_boolean(raw: str | None) -> bool:
    """Java's `Boolean.parseBoolean`: true only for "true" in any case; blanks count (Java's
    Properties keeps trailing ones), so "true " is false. No character of a properties file
    lower-cases into an ASCII letter of "true" but those letters themselves."""
    return raw is not None and raw.lower() == "true"


def _interval_hours(raw: str) -> int | None:
    """The hours CP's `Long.parseLong` reads from `raw` ("" is CP's default, 24), if at
    least 1 and at most MAX_INTERVAL_HOURS; None otherwise."""
    if raw == "":
        return int(DEFAULTS[REPORT_INTERVAL_HOURS])
    match = _JAVA_LONG.fullmatch(raw)
    if match is None:
        return None
    hours = int(raw)
    if not -_LONG_MAX - 1 <= hours <= _LONG_MAX or not 1 <= hours <= MAX_INTERVAL_HOURS:
        return None
    return hours


def _check_interval(raw: str) -> str | None:
    if _interval_hours(raw) is not None:
        return None
    return (f"must be a whole number of hours from 1 to {MAX_INTERVAL_HOURS} "
            "(CP's agent refused to start on anything else)")


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
        hours = _interval_hours(raw)
        if hours is None:
            raise ValueError(f"{raw!r} is not a valid interval")
        return hours
    return raw


def shown(key: str, raw: str) -> str:
    """`raw` quoted for a message, with what is easy to miss about it (blanks around it);
    the proxy's text is never shown: it may hold credentials."""
    if key == PROXY:
        return "(value not shown)"
    hint = ""
    if raw != raw.strip():
        trailing, leading = raw != raw.rstrip(), raw != raw.lstrip()
        hint = (" (it has a trailing blank)" if trailing and not leading else
                " (it has a leading blank)" if leading and not trailing else
                " (it has blanks around it)")
    return f"{raw!r}{hint}"


_HTTP_KEYS = (SECURE_ENABLE, INSECURE_ENABLE, SECURE_ENDPOINT, INSECURE_ENDPOINT, PROXY)
_PATHS = {"anonymous": "/anon", "test": "/test", "customer": "/submit"}


def endpoint_path(customer_id: str) -> str:
    """`/anon`, `/test` (c0) or `/submit`; an invalid id reports as anonymous, as in CP."""
    return _PATHS.get(customer_id_kind(customer_id), "/anon")


def _proxy_label(proxy: str) -> str:
    parts = urlsplit(proxy)
    return f"{parts.hostname}:{parts.port}"


def decide(raw: dict[str, str | None]) -> tuple[dict[str, Setting], Plan]:
    """What the agent does with the nine settings' raw texts (None: the key is absent).

    Returns every `Setting` (value, problem and effect) and the `Plan`; `SettingsFile`
    adds where each line is. Pure: the same texts always give the same decision.
    """
    problems = {key: (validate(key, text) if text is not None else None)
                for key, text in raw.items()}

    def given(key: str) -> str:
        text = raw.get(key)
        return DEFAULTS[key] if text is None else text

    values: dict[str, bool | int | str | None] = {}
    effects: dict[str, str] = {}

    # The opt-in: CP 3.x's `Boolean.parseBoolean(getProperty(key, "false"))`, nothing else.
    enable_raw = raw.get(METRICS_ENABLE)
    enabled = java_boolean(enable_raw)
    values[METRICS_ENABLE] = enabled
    if enabled:
        effects[METRICS_ENABLE] = "reporting on"
        off_reason = None
    else:
        if enable_raw is None:
            off_reason = (f"{METRICS_ENABLE} is not in the file (only {METRICS_ENABLE}=true "
                          "turns reporting on, as in CP 3.x)")
            effects[METRICS_ENABLE] = ("disabled: the key is missing (only true turns "
                                       "reporting on, as in CP 3.x)")
        elif enable_raw.lower() == "false":
            off_reason = f"{METRICS_ENABLE}={enable_raw}"
            effects[METRICS_ENABLE] = "disabled"
        else:
            why = f"{shown(METRICS_ENABLE, enable_raw)} is not 'true'"
            off_reason = f"{METRICS_ENABLE}={why}"
            effects[METRICS_ENABLE] = f"disabled: {why}; only true (any case) turns it on"
    when = "" if enabled else "when enabled: "

    # The interval: CP's agent did not start on a value Long.parseLong refused or below 1.
    interval_text = given(REPORT_INTERVAL_HOURS)
    hours = _interval_hours(interval_text)
    values[REPORT_INTERVAL_HOURS] = hours
    refused = None
    if hours is None:
        rule = problems[REPORT_INTERVAL_HOURS]
        if enabled:
            refused = (f"{REPORT_INTERVAL_HOURS}={shown(REPORT_INTERVAL_HOURS, interval_text)} "
                       f"{rule}")
            effects[REPORT_INTERVAL_HOURS] = ("stops the agent: nothing is sent (CP's agent "
                                              "refused to start)")
        else:
            effects[REPORT_INTERVAL_HOURS] = ("would stop the agent once reporting is "
                                              "enabled (CP's agent refused to start)")
    else:
        default = " (the default)" if raw.get(REPORT_INTERVAL_HOURS) in (None, "") else ""
        effects[REPORT_INTERVAL_HOURS] = f"{when}a report every {hours} h{default}"

    # The customer id: CP reported an invalid or empty one as anonymous (a Basic report).
    cid_text = given(CUSTOMER_ID)
    kind = customer_id_kind(cid_text)
    customer_id = cid_text if kind != "invalid" else DEFAULTS[CUSTOMER_ID]
    values[CUSTOMER_ID] = customer_id
    schema = "enhanced" if kind in ("test", "customer") else "basic"
    effects[CUSTOMER_ID] = when + {
        "anonymous": "Basic reports (anonymous)",
        "test": "Enhanced reports on the test path (/test)",
        "customer": "Enhanced reports for this customer",
        "invalid": "reported as anonymous (Basic reports), as CP did",
    }[kind]

    # The topic: an invalid name stops the topic (CP's produce would fail); never another.
    topic_text = given(TOPIC)
    if problems[TOPIC]:
        values[TOPIC] = None
        topic = Route("topic", None, f"{TOPIC}={shown(TOPIC, topic_text)} {problems[TOPIC]}")
        effects[TOPIC] = f"{when}no report to any topic (not a legal topic name)"
    elif topic_text == "":
        values[TOPIC] = ""
        topic = Route("topic", None, f"topic reporting disabled (empty {TOPIC})")
        effects[TOPIC] = f"{when}no report to a topic (empty)"
    else:
        values[TOPIC] = topic_text
        topic = Route("topic", topic_text)
        effects[TOPIC] = f"{when}reports go to {topic_text}"

    # HTTP: one invalid HTTP setting stops HTTPS and HTTP alike. A default in its place could
    # send in clear text (`...insecure.enable=flase`) or around a proxy the site requires.
    bad_http = next((key for key in _HTTP_KEYS if problems[key]), None)
    proxy: str | None = None
    if bad_http is not None:
        stop = (f"{bad_http}={shown(bad_http, given(bad_http))} {problems[bad_http]}, "
                "which stops HTTPS and HTTP")
        https = Route("https", None, stop)
        http = Route("http", None, stop)
        for key in _HTTP_KEYS:
            values[key] = None
            effects[key] = (f"{when}stops HTTPS and HTTP: nothing is sent over either"
                            if problems[key] else
                            f"{when}unused: {bad_http} stops HTTPS and HTTP")
    else:
        secure_on = java_boolean(given(SECURE_ENABLE))
        insecure_on = java_boolean(given(INSECURE_ENABLE))
        secure_url = given(SECURE_ENDPOINT).rstrip("/") + endpoint_path(customer_id)
        insecure_url = given(INSECURE_ENDPOINT).rstrip("/") + endpoint_path(customer_id)
        proxy = given(PROXY) or None
        for key in _HTTP_KEYS:
            text = given(key)
            values[key] = typed_value(key, text)
        https = (Route("https", secure_url) if secure_on else
                 Route("https", None, f"secure endpoint disabled ({SECURE_ENABLE}=false)"))
        if not insecure_on:
            http = Route("http", None, f"insecure endpoint disabled ({INSECURE_ENABLE}=false)")
        elif secure_on:
            http = Route("http", insecure_url, note="only when HTTPS fails")
        else:
            http = Route("http", insecure_url, note="in clear text: HTTPS is disabled")
        effects[SECURE_ENABLE] = when + ("reports go over HTTPS" if secure_on
                                         else "no report over HTTPS")
        effects[INSECURE_ENABLE] = when + (
            "never in clear text" if not insecure_on else
            "HTTP in clear text when HTTPS fails" if secure_on else
            "reports go over HTTP in clear text")
        effects[SECURE_ENDPOINT] = when + (f"HTTPS reports go to {secure_url}" if secure_on
                                           else "unused: HTTPS is disabled")
        effects[INSECURE_ENDPOINT] = when + (f"HTTP reports go to {insecure_url}"
                                             if insecure_on else "unused: HTTP is disabled")
        effects[PROXY] = when + (f"HTTP(S) through the proxy {_proxy_label(proxy)}" if proxy
                                 else "direct connections, no proxy")

    routes: tuple[Route, ...] = (topic, https, http)
    if not enabled:
        state, reason = STATE_DISABLED, f"{off_reason}: nothing is collected or sent"
    elif refused is not None:
        state, reason = STATE_REFUSED, refused
    else:
        state, reason = STATE_ENABLED, None
    if state != STATE_ENABLED:
        routes = tuple(Route(r.destination, None, reason) for r in routes)
    plan = Plan(state, reason, hours if state == STATE_ENABLED else None, customer_id,
                schema, routes, proxy if state == STATE_ENABLED else None)
    settings = {key: Setting(key, values[key], raw.get(key),
                             "default" if raw.get(key) is None else "file", problems[key],
                             None, effects[key])
                for key in KEYS}
    return settings, plan


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
        self._decision = self._decide()

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
        """The nine settings in `KEYS` order as the agent uses them (see `decide`), with
        source, problem, effect and the line of the file that decides each."""
        return dict(self._decision[0])

    @property
    def plan(self) -> Plan:
        """What the agent does with this file (see `Plan`)."""
        return self._decision[1]

    def _decide(self) -> tuple[dict[str, Setting], Plan]:
        entries = {key: self._doc.find(key) for key in KEYS}
        settings, plan = decide({key: None if entry is None else str(entry.value)
                                 for key, entry in entries.items()})
        for key, entry in entries.items():
            if entry is not None:
                settings[key] = replace(settings[key], line=entry.line)
        return settings, plan

    def send_plan(self) -> list[tuple[str, str]]:
        """Where a report of this broker would go, in the order it is sent: (`topic`, the
        topic), (`https`, URL), (`http`, URL), as the plan has them; empty when reporting is
        not enabled. A dry run skips every destination, so this is what the console shows
        as the plan."""
        return [(r.destination, r.target) for r in self.plan.routes if r.target is not None]

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
