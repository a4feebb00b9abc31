"""The agent: one per broker, reports that broker's metadata on a schedule.

CP 3.x ran its collector inside the broker's JVM; this agent runs beside the broker and
reads the same `server.properties`. It reports once its broker is registered, then every
`report.interval.hours` (± a few percent, so that a fleet restarted together does not
report in lock step), and on SIGTERM/SIGINT sends a last report with `collectorState=1`.

What it does with the file is the file's plan (`SettingsFile.plan`), decided in one place:
reporting only with `confluent.support.metrics.enable=true`; otherwise it says once why,
sends nothing and keeps watching the file, and reports as soon as it is switched on. An
interval CP refused stops it at start-up (ValidationError: exit 2, and the systemd unit
does not restart it); if the file gets such an interval while it runs, it stops
reporting, says so once and keeps watching, as CP's agent would not have run with it.

Before every report, within the cycle's session, it checks that its broker is registered
(`engine.reporting.runtime.identify`, which also gives the runtime's token). While the
broker is not, it sends nothing, says once that it waits, polls the registration every
few seconds and reports at once, with the new runtime's token, when the broker is back.

Every report for the topic goes through the on-disk spool first (an outbox): it is written
there, then the spool is flushed in order. A report that cannot reach Kafka thus stays on
disk and goes out, in order, once Kafka is back, also across agent restarts. Each report
carries a `report.id` header (UUID4) so that the rare resend after a crash between the
broker's acknowledgement and the spool delete is dropped by readers.

The settings file is re-read whenever it changes (size, mtime, SHA-256), before each
report and, cheaply, while sleeping: no restart needed. Network calls all have timeouts;
an outage of ZooKeeper or Kafka is logged and the schedule goes on.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.cluster.location import ClusterLocation, ClusterOptions, locate
from engine.cluster.session import ClusterSession
from engine.config import settings as ps
from engine.config.settings import STATE_REFUSED, load_settings
from engine.errors import AuthenticationFailure, PsError, ValidationError
from engine.reading.report import BROKER_ID_HEADER, REPORT_ID_HEADER
from engine.reporting import AGENT_TIMEOUT
from engine.reporting.collector import STATE_RUNNING, STATE_SHUTTING_DOWN
from engine.reporting.outcome import DestinationResult
from engine.reporting.runtime import BrokerNotRunning, RegistrationUnreadable, RuntimeUnknown
from engine.reporting.spool import Rejected, Spool, SpooledReport

if TYPE_CHECKING:
    from engine.reporting.submit_topic import TopicSubmitter

log = logging.getLogger(__name__)

# Spread of the report interval: ±3 %.
JITTER = 0.03
# How often a sleeping agent looks at its settings file (a stat and a small read).
SETTINGS_POLL_S = 1.0
# How often an agent whose broker is not registered asks again.
REGISTRATION_POLL_S = 2.0
# How soon an agent tries again when its broker's runtime cannot be agreed on though its
# registration can be read (KRaft, away from the broker, no report of it in the topic yet):
# this, or the interval when shorter.
UNKNOWN_RETRY_S = 30.0
# From the signal to the exit. The CLI enforces SHUTDOWN_BUDGET_S as a hard limit;
# the agent plans its last report to end well before it.
SHUTDOWN_BUDGET_S = 9.5
_SHUTDOWN_PLAN_S = 8.5
# Timeouts of each network call of the last report.
_SHUTDOWN_CALL_TIMEOUT = 1.5


def jittered(interval_s: float, rng: random.Random | None = None,
             fraction: float = JITTER) -> float:
    """`interval_s` moved by a random amount of at most ±`fraction` of it."""
    r = rng or random
    return max(0.0, interval_s * (1.0 + r.uniform(-fraction, fraction)))


@dataclass(frozen=True)
class FileStamp:
    """What identifies one version of the settings file."""

    mtime_ns: int
    size: int
    sha256: bytes


def stamp(path: Path) -> FileStamp | None:
    """The file's current stamp, None while it cannot be read (an editor mid-save)."""
    try:
        st = path.stat()
        data = path.read_bytes()
    except OSError:
        return None
    return FileStamp(st.st_mtime_ns, st.st_size, hashlib.sha256(data).digest())


def _short(result: DestinationResult) -> str:
    """`ok(0@42)`, `skipped`, `failed(reason)`: one destination in the log line."""
    if result.skipped:
        return "skipped"
    if result.ok:
        return f"ok({result.detail.rsplit(' ', 1)[-1]})" if result.destination == "topic" \
            else "ok"
    return f"failed({result.detail})"


class Agent:
    """Reports one broker's metadata on a schedule; see the module docstring.

    `interval_seconds` overrides `report.interval.hours` (development and tests).
    `state_dir` holds the broker tokens and the spool. `http_ca_file` is the CA bundle
    that signs the HTTPS endpoint's certificate, when not a public one; `http_token` a
    bearer token the HTTPS endpoint requires.
    """

    def __init__(self, broker_config: str | Path, kafka_home: str | None = None,
                 options: ClusterOptions | None = None, interval_seconds: float | None = None,
                 state_dir: str | Path | None = None, rng: random.Random | None = None,
                 http_ca_file: str | None = None, http_token: str | None = None
                 ) -> None:
        self.config_path = Path(broker_config)
        self.kafka_home = kafka_home
        self.interval_override = interval_seconds
        # A CA bundle for the HTTPS endpoint (one with a private CA); None: the default.
        self.http_ca_file = http_ca_file
        self.http_token = http_token
        self.rng = rng or random.Random()
        self.settings = load_settings(self.config_path)
        self._stamp = stamp(self.config_path)
        broker = self.settings.broker
        self.broker_id = broker.require_broker()
        if self.settings.plan.state == STATE_REFUSED:
            # CP's agent did not start with such a value; neither does this one (exit 2).
            raise ValidationError(f"{self.config_path}: {self.settings.plan.reason}; the "
                                  "agent does not start")
        # Where the cluster is, once; every cycle opens one session to it.
        self.location = locate(options or ClusterOptions(), broker,
                               default_timeout=AGENT_TIMEOUT)
        for hint in self.location.client.hints:
            log.info("hint: %s", hint)  # what --command-config dropped, once per start
        if state_dir:
            self.state_dir = Path(state_dir)
            self.token_dir = self.state_dir
        else:
            from engine.reporting.report_now import default_token_dir

            # The same tokens as `ps-console report` on this host: one token per runtime.
            self.state_dir = default_state_dir(self.broker_id)
            self.token_dir = default_token_dir()
        self.spool = Spool(self.state_dir / "spool" / f"broker-{self.broker_id}")
        self._stop = threading.Event()
        # The brokers' endpoints as the last cycle found them (see ClusterSession).
        self._bootstrap: str | None = None
        self.reports_made = 0
        # Why the agent is not reporting right now, as last logged (each reason once).
        self._waiting: str | None = None
        self._token: str | None = None

    # -- settings --------------------------------------------------------------------------

    def effective(self, key: str) -> bool | int | str | None:
        """The current typed value of one Proactive Support setting (None: see its effect)."""
        return self.settings.effective[key].value

    @property
    def interval_s(self) -> float:
        """Seconds between reports: the override, else `report.interval.hours` (the default
        while reporting is off: then it only paces the checks of the file)."""
        if self.interval_override is not None:
            return float(self.interval_override)
        hours = self.settings.plan.interval_hours
        return float((hours or int(ps.DEFAULTS[ps.REPORT_INTERVAL_HOURS])) * 3600)

    def _log_plan(self, prefix: str) -> None:
        """One line for what the agent now does with its file, and one per bad setting."""
        plan = self.settings.plan
        if plan.enabled:
            log.info("%s: reporting %s", prefix, plan.summary)
        elif plan.state == STATE_REFUSED:
            log.warning("%s: %s: not reporting (CP's agent would not run with it); watching "
                        "%s until it is fixed", prefix, plan.reason, self.config_path)
        else:
            log.info("%s: reporting %s; watching %s", prefix, plan.summary, self.config_path)
        for setting in self.settings.effective.values():
            if setting.problem and setting.raw is not None:
                log.warning("settings: %s=%s %s: %s", setting.key,
                            ps.shown(setting.key, setting.raw), setting.problem, setting.effect)

    def reload_settings(self) -> bool:
        """Re-read the settings file if it changed; True when it did."""
        current = stamp(self.config_path)
        if current is None or current == self._stamp:
            return False
        try:
            fresh = load_settings(self.config_path)
        except PsError as exc:
            log.warning("settings: %s; keeping the previous settings", exc)
            return False
        self.settings, self._stamp = fresh, current
        self._waiting = None
        self._log_plan(f"settings: {self.config_path} changed, re-read")
        return True

    # -- the schedule ----------------------------------------------------------------------

    def run(self, stop_event: threading.Event, once: bool = False) -> int:
        """Report until `stop_event` is set, then send the last report; return 0.

        With `once`, report one time (no shutdown report) and return; with reporting off,
        `once` returns at once.
        """
        self._stop = stop_event
        log.info("agent for broker %d of %s (config %s, state %s)", self.broker_id,
                 self.location.description, self.config_path, self.state_dir)
        self._log_plan("settings")
        try:
            while not stop_event.is_set():
                self.reload_settings()
                if not self.settings.plan.enabled:
                    if once:
                        return 0
                    self._wait_for_change()
                    continue
                started = time.monotonic()
                try:
                    self.cycle()
                except (BrokerNotRunning, RegistrationUnreadable) as exc:
                    self._note_waiting(str(exc))
                    self._wait_registered()
                    continue  # registered again (or stopped): report at once
                except RuntimeUnknown as exc:
                    self._note_waiting(str(exc))
                    self._sleep_until(time.monotonic() + min(self.interval_s, UNKNOWN_RETRY_S))
                    continue
                except AuthenticationFailure:
                    # Rejected credentials or TLS trust: waiting cannot heal them. One line
                    # and exit 1 (the systemd unit tries again after RestartSec).
                    raise
                except Exception as exc:  # noqa: BLE001 - one bad cycle must not end the agent
                    log.warning("report broker=%d failed: %s: %s", self.broker_id,
                                type(exc).__name__, exc, exc_info=log.isEnabledFor(
                                    logging.DEBUG))
                if once:
                    return 0
                self._sleep_until(started + jittered(self.interval_s, self.rng))
            if self.reports_made == 0:
                log.info("stopped before broker %d was reported; no report sent",
                         self.broker_id)
                return 0
            try:
                self.shutdown_report(time.monotonic() + _SHUTDOWN_PLAN_S)
            except (BrokerNotRunning, RuntimeUnknown) as exc:
                log.info("no last report for broker %d: %s", self.broker_id, exc)
            except Exception as exc:  # noqa: BLE001 - exit 0 all the same: we were asked to
                log.warning("last report broker=%d failed: %s: %s", self.broker_id,
                            type(exc).__name__, exc)
            return 0
        finally:
            self._stop = threading.Event()  # the next run starts afresh

    def _note_waiting(self, reason: str) -> None:
        """Say once why no report goes out now (a new reason is said again)."""
        if reason != self._waiting:
            log.info("waiting, nothing sent: %s", reason)
            self._waiting = reason

    def _wait_for_change(self) -> None:
        """Sleep until the settings file changes or the agent is stopped."""
        while not self._stop.is_set():
            self._stop.wait(SETTINGS_POLL_S)
            if self.reload_settings():
                return

    def _wait_registered(self) -> None:
        """Poll the broker's registration (one session for the whole wait) until it is
        registered, the agent is stopped or reporting is switched off."""
        from engine.cluster.registration import read_registration

        session = ClusterSession(self.location)
        try:
            while not self._stop.wait(REGISTRATION_POLL_S):
                if self.reload_settings() and not self.settings.plan.enabled:
                    return
                try:
                    # Registered: the next cycle's own check decides (a registration may be
                    # the one a killed JVM left behind).
                    if read_registration(session, self.broker_id) is not None:
                        return
                except AuthenticationFailure:
                    # Rejected credentials or TLS trust: waiting cannot heal them. One line
                    # and exit 1 (the systemd unit tries again after RestartSec).
                    raise
                except PsError as exc:
                    # Still waiting; the cycle that started the wait said why.
                    log.debug("broker %d's registration not read: %s", self.broker_id, exc)
                    # A failed session stays failed: the next poll starts a new one.
                    session.close()
                    session = ClusterSession(self.location)
        finally:
            session.close()

    def _sleep_until(self, wake_at: float) -> None:
        """Sleep, waking for a stop or when reporting is switched back on."""
        while not self._stop.is_set():
            left = wake_at - time.monotonic()
            if left <= 0:
                return
            self._stop.wait(min(left, SETTINGS_POLL_S))
            was_enabled = self.settings.plan.enabled
            if self.reload_settings() and self.settings.plan.enabled != was_enabled:
                return  # switched on: report now rather than after a whole interval

    # -- one report ------------------------------------------------------------------------

    def cycle(self, state: int = STATE_RUNNING, location: ClusterLocation | None = None,
              deadline: float | None = None, delivery_timeout: float | None = None) -> bool:
        """Flush the spool, then make and send one report. False when reporting is off.

        One cluster session serves the whole cycle (one ZooKeeper session, one producer).
        The report itself is made and sent by `report_now`, the same path as `ps-console
        report`, whose first step checks the broker's registration; only its topic step is
        redirected through the spool (`_SpoolingSubmitter`). BrokerNotRunning or
        RuntimeUnknown: nothing was made (the spool was flushed all the same: what waits in
        it was true when it was made).
        """
        if not self.settings.plan.enabled:
            return False
        from engine.reporting.report_now import report_now
        from engine.reporting.submit_topic import TopicSubmitter

        with ClusterSession(location or self.location,
                            fallback_bootstrap=self._bootstrap) as session:
            # Its delivery timeout bounds every send of the cycle.
            producer = TopicSubmitter(session, delivery_timeout=delivery_timeout)
            try:
                # Older reports first, so that the topic keeps their order; when that fails,
                # the new report only joins the queue (one failed attempt per cycle is enough).
                blocked = self._flush(producer, deadline)
                submitter = _SpoolingSubmitter(self, producer, deadline, blocked)
                outcome = report_now(str(self.config_path), broker_id=self.broker_id,
                                     kafka_home=self.kafka_home, token_dir=self.token_dir,
                                     state=state, submitter=submitter,
                                     http_verify=self.http_ca_file, session=session,
                                     http_token=self.http_token)
            finally:
                _close_quietly(producer)
            self._bootstrap = session.resolved_bootstrap or self._bootstrap
        if not outcome.enabled:
            return False
        for warning in outcome.warnings:
            log.debug("report broker=%d: %s", self.broker_id, warning)
        token = (outcome.record or {}).get("brokerProcessUUID")
        if token != self._token:
            log.info("broker %d runtime: token %s (from %s)", self.broker_id, token,
                     outcome.token_source)
            self._token = token if isinstance(token, str) else None
        if self._waiting is not None:
            log.info("broker %d runs: reporting again", self.broker_id)
            self._waiting = None
        self.reports_made += 1
        by_dest = {r.destination: r for r in outcome.destinations}
        parts = [f"report broker={self.broker_id}", f"schema={outcome.schema}",
                 f"state={state}"]
        if submitter.report_id:
            parts.append(f"id={submitter.report_id[:8]}")
        for dest in ("topic", "https", "http"):
            parts.append(f"{dest}={_short(by_dest[dest]) if dest in by_dest else 'skipped'}")
        log.info("%s", " ".join(parts))
        return True

    def _flush(self, producer: TopicSubmitter, deadline: float | None,
               current: str | None = None,
               outcomes: dict[str, DestinationResult] | None = None) -> str | None:
        """Deliver spooled reports in order; return why it stopped early, if it did.

        `current` is the report just made (its outcome goes into the report's own log line);
        older reports delivered on the way get a line of their own.
        """
        if len(self.spool) == 0:
            return None
        # A produce may wait its whole delivery timeout: only start one that can end in time.
        need = producer.delivery_timeout + 1.5

        def send(report: SpooledReport) -> bool | str | Rejected:
            if deadline is not None and deadline - time.monotonic() < need:
                return "no time left before exit"
            res = producer.submit(report.topic, report.value, report.broker_id,
                                  headers=report.headers)
            if outcomes is not None:
                outcomes[report.report_id] = res
            if res.ok and report.report_id != current:
                made = time.strftime("%Y-%m-%d %H:%M:%S",
                                     time.localtime(report.created_ms / 1000))
                log.info("spool broker=%d delivered id=%s made %s topic=%s",
                         report.broker_id, report.report_id[:8], made, _short(res))
            if res.permanent:
                return Rejected(res.detail)
            return True if res.ok else res.detail

        result = self.spool.flush(send)
        if result.error:
            log.info("spool broker=%d: %d report(s) waiting (%s)", self.broker_id,
                     result.remaining, result.error)
        return result.error

    def shutdown_report(self, deadline: float) -> None:
        """The last report, `collectorState=1`, planned to finish by `deadline`.

        Short timeouts for collecting; the topic is tried only if a delivery can end in
        time (else the report stays in the spool for the next start); HTTP gets what is
        left. Nothing is sent if this agent never reported (e.g. reporting disabled).
        """
        self.reload_settings()
        if self.reports_made == 0:
            return
        left = deadline - time.monotonic()
        self.cycle(state=STATE_SHUTTING_DOWN,
                   location=self.location.with_timeout(_SHUTDOWN_CALL_TIMEOUT),
                   deadline=deadline, delivery_timeout=max(1.0, min(3.0, left / 3)))


def _close_quietly(producer: TopicSubmitter) -> None:
    try:
        producer.close()
    except Exception as exc:  # noqa: BLE001 - closing must not fail the cycle or the exit
        log.debug("closing the producer: %s", exc)


class _SpoolingSubmitter:
    """The topic step of one agent report: write it to the spool (with a fresh
    `report.id`), then flush the spool in order. Quacks like `TopicSubmitter` for
    `report_now`."""

    def __init__(self, agent: Agent, producer: TopicSubmitter, deadline: float | None,
                 blocked: str | None) -> None:
        self.agent = agent
        self.producer = producer
        self.deadline = deadline
        self.blocked = blocked
        self.report_id: str | None = None
        self.warnings: list[str] = []

    def submit(self, topic: str, value: bytes, broker_id: int) -> DestinationResult:
        """Spool, then flush; the result is this report's own delivery, or why it waits."""
        agent = self.agent
        self.report_id = report_id = str(uuid.uuid4())
        headers = {BROKER_ID_HEADER: str(broker_id), REPORT_ID_HEADER: report_id}
        try:
            entry = agent.spool.put(SpooledReport(
                topic=topic, value=value, broker_id=broker_id, report_id=report_id,
                created_ms=int(time.time() * 1000), headers=headers))
        except OSError as exc:
            # A full disk or an unwritable state folder must not silence the agent: send
            # this report directly; it is lost only if the topic refuses it too.
            log.warning("spool broker=%d: cannot store the report (%s); sending it directly",
                        broker_id, exc.strerror or exc)
            return self.producer.submit(topic, value, broker_id, headers=headers)
        if entry is None:
            return DestinationResult("topic", False, "larger than the spool; dropped")
        outcomes: dict[str, DestinationResult] = {}
        reason = self.blocked or agent._flush(self.producer, self.deadline, report_id, outcomes)
        if report_id in outcomes and outcomes[report_id].ok:
            self.warnings = list(self.producer.warnings)
            return outcomes[report_id]
        return DestinationResult("topic", False, f"spooled, {len(agent.spool)} waiting: "
                                                 f"{reason or 'not attempted'}")


def default_state_dir(broker_id: int) -> Path:
    """Per-user state folder of the agent of one broker (platformdirs); its spool lives
    there, its broker tokens in the folder `ps-console report` uses too."""
    from platformdirs import user_state_path

    return user_state_path("ps-console") / "agent" / f"broker-{broker_id}"


def check(broker_config: str | Path, options: ClusterOptions | None = None,
          interval_seconds: float | None = None, grace_seconds: float | None = None,
          now: float | None = None) -> tuple[int, str]:
    """Monitoring check: is the broker's latest report younger than interval + grace?

    Returns (exit code, one Nagios-style line): 0 `PS-AGENT OK - ...`, 1
    `PS-AGENT CRITICAL - ...`. Usage problems (no such file, no broker id) raise.
    """
    from engine.reading import rules
    from engine.reading.reports import latest_per_broker

    settings_file = load_settings(broker_config)
    broker = settings_file.broker
    broker_id = broker.require_broker()
    location = locate(options or ClusterOptions(), broker, default_timeout=AGENT_TIMEOUT)
    plan = settings_file.plan
    hours = plan.interval_hours or int(ps.DEFAULTS[ps.REPORT_INTERVAL_HOURS])
    interval = (float(interval_seconds) if interval_seconds is not None
                else float(hours * 3600))
    grace = grace_seconds if grace_seconds is not None else rules.grace_for(interval)
    limit = rules.overdue_after_s(interval, grace)

    def critical(text: str) -> tuple[int, str]:
        return 1, f"PS-AGENT CRITICAL - {text}"

    if not plan.enabled:
        return critical(f"broker {broker_id}: reporting {plan.state} in {broker_config}: "
                        f"{plan.reason}")
    route = plan.route("topic")
    if route.target is None:
        return critical(f"broker {broker_id}: no report goes to a topic ({route.reason}); "
                        "nothing to check")
    topic = route.target
    try:
        with ClusterSession(location) as session:
            reports = latest_per_broker(session, topic, broker_ids=[broker_id])
    except PsError as exc:
        return critical(f"cannot read {topic}: {exc}")
    latest = rules.latest_of(reports, broker_id)
    if latest is None:
        return critical(f"no report from broker {broker_id} in {topic}")
    if not latest.ok:
        return critical(f"the latest report of broker {broker_id} ({topic} "
                        f"{latest.position}) is undecodable: {latest.error}")
    clock = time.time() if now is None else now
    age = max(0, int(rules.age_s(latest, clock) or 0))
    perf = f"| age={age}s;;{int(limit)}"
    stopped = " (its agent shut down)" if latest.state == STATE_SHUTTING_DOWN else ""
    if not rules.is_overdue(latest, clock, interval, grace):
        return 0, f"PS-AGENT OK - broker {broker_id} reported {age} s ago{stopped} {perf}"
    return critical(f"broker {broker_id} last reported {age} s ago{stopped}, more than "
                    f"{int(limit)} s (interval {int(interval)} s + grace {int(grace)} s) {perf}")

