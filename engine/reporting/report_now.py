"""Collect and send one report for one broker now (`ps-console report`, the console's
Trigger screen, and every round of the agent use this same path).

Order of events: load the broker's settings and their plan (`SettingsFile.plan`: disabled →
nothing collected or sent; refused → ValidationError, exit 2), find the broker id and the
cluster (from the file unless given), check that the broker runs and find its runtime's
token (`engine.reporting.runtime.identify`: not registered → nothing sent), collect,
encode, then send to the topic, then HTTPS, then HTTP, each only as the plan allows.
A dry run stops after encoding: the caller shows exactly the bytes that would leave.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from engine.cluster.location import ClusterLocation, ClusterOptions, locate
from engine.cluster.session import ClusterSession
from engine.config import settings as ps_settings
from engine.config.settings import load_settings
from engine.errors import ValidationError
from engine.reporting.collector import STATE_RUNNING, collect
from engine.reporting.outcome import DestinationResult, skipped
from engine.reporting.records import encode

log = logging.getLogger(__name__)

TOKEN_DIR_NAME = "ps-console"


def default_token_dir() -> Path:
    """Where a sender keeps the broker runtimes it saw, by default (the user's state folder):
    the `TokenCache` that bridges a registration that cannot be read. Senders agree on
    tokens without it (`engine.reporting.tokens`)."""
    import platformdirs

    return platformdirs.user_state_path(TOKEN_DIR_NAME) / "tokens"


class TopicStep(Protocol):
    """What sends a report to the topic: a `TopicSubmitter`, or the agent's spool in front
    of one. `warnings` are those of its last `submit`."""

    warnings: list[str]

    def submit(self, topic: str, value: bytes, broker_id: int) -> DestinationResult: ...


@dataclass
class ReportOutcome:
    """What one report-now did. `schema`/`record`/`value` are None when reporting is
    disabled; `record` is what was encoded, `value` the exact bytes sent (or not, on a dry
    run); `destinations` has one entry per destination, in the order tried. `withheld`
    counts the broker configuration keys the privacy filter kept out of the report,
    `withheld_jvm` the JVM properties and `-D` flags (counts, never names)."""

    broker_id: int | None
    enabled: bool
    dry_run: bool
    schema: str | None = None
    record: dict[str, Any] | None = None
    value: bytes | None = None
    destinations: list[DestinationResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    withheld: int = 0
    withheld_jvm: int = 0
    # How the broker token was told (its ZooKeeper registration, its JVM on this host, ...).
    token_source: str | None = None

    @property
    def size(self) -> int:
        """Size of the report value in bytes (0 when nothing was built)."""
        return len(self.value or b"")

    @property
    def ok(self) -> bool:
        """True unless a destination that was tried failed for good.

        HTTPS then HTTP form one channel: an HTTPS failure rescued by the HTTP fallback is
        a success, as in CP. Skipped destinations (disabled, dry run) never fail.
        """
        tried = {d.destination: d for d in self.destinations if not d.skipped}
        topic = tried.get("topic")
        if topic is not None and not topic.ok:
            return False
        http = [d for name, d in tried.items() if name in ("https", "http")]
        return not http or any(d.ok for d in http)


def _send_http(value: bytes, settings_file: ps_settings.SettingsFile, customer_id: str,
               http_verify: Any, http_token: str | None = None) -> list[DestinationResult]:
    from engine.reporting.submit_http import HttpSettings, submit_http

    plan = settings_file.plan
    https, http = plan.route("https"), plan.route("http")
    if https.target is None and http.target is None:
        return [skipped("https", https.reason or "not sent"),
                skipped("http", http.reason or "not sent")]
    kwargs = {} if http_verify is None else {"verify": http_verify}
    # The plan found every HTTP setting valid, so this cannot refuse them.
    http_settings = HttpSettings.from_properties(settings_file.properties, token=http_token,
                                                 **kwargs)
    results = submit_http(value, customer_id, http_settings)
    attempted = {r.destination for r in results}
    if "https" not in attempted:
        results.insert(0, skipped("https", https.reason or "secure endpoint disabled"))
    if "http" not in attempted:
        reason = (http.reason or "insecure endpoint disabled" if http.target is None
                  else "not needed: HTTPS succeeded")
        results.append(skipped("http", reason))
    return results


def report_now(broker_config: str, location: ClusterLocation | None = None,
               broker_id: int | None = None, dry_run: bool = False,
               kafka_home: str | None = None, token_dir: str | Path | None = None,
               http_verify: Any = None, state: int = STATE_RUNNING,
               submitter: TopicStep | None = None,
               session: ClusterSession | None = None,
               http_token: str | None = None) -> ReportOutcome:
    """Collect one report for the broker of `broker_config` and send it (unless dry_run).

    The cluster is `session`'s (an agent cycle's), else `location`, else the one the file
    names (`locate` with no options); `broker_id` None means the file's. `token_dir` is
    where this sender keeps the runtimes it saw (`TokenCache`; default: the user state
    folder). `http_verify` (a CA bundle path, or True) overrides certificate checks for
    HTTPS; `http_token` is a bearer token for the HTTPS endpoint (a `ps-console receive`
    that requires one); `submitter` lets an agent route the topic step through its spool.

    Raises ValidationError (exit 2) when the plan is refused (an interval CP refused),
    UsageError / NotFound for a bad file, BrokerNotRunning / RuntimeUnknown (exit 1) when
    the broker is not registered or that cannot be told: nothing is collected or sent
    then. Send failures are results, not exceptions.
    """
    settings_file = load_settings(broker_config)
    plan = settings_file.plan
    broker = settings_file.broker
    if broker_id is None:
        broker_id = broker.require_broker()
    if plan.state == ps_settings.STATE_REFUSED:
        raise ValidationError(f"{settings_file.path}: {plan.reason}; nothing is sent")
    if not plan.enabled:
        reason = plan.reason or "disabled"
        return ReportOutcome(broker_id, enabled=False, dry_run=dry_run,
                             destinations=[skipped(d, reason) for d in ("topic", "https", "http")],
                             warnings=[f"Proactive Support is disabled: {reason}"])
    if session is not None:
        return _report(settings_file, session, broker_id, dry_run, kafka_home, token_dir,
                       http_verify, state, submitter, http_token)
    with ClusterSession(location or locate(ClusterOptions(), broker)) as own:
        return _report(settings_file, own, broker_id, dry_run, kafka_home, token_dir,
                       http_verify, state, submitter, http_token)


def _report(settings_file: ps_settings.SettingsFile, session: ClusterSession, broker_id: int,
            dry_run: bool, kafka_home: str | None, token_dir: str | Path | None,
            http_verify: Any, state: int, submitter: TopicStep | None,
            http_token: str | None = None) -> ReportOutcome:
    from engine.reporting.runtime import identify
    from engine.reporting.tokens import TokenCache

    plan = settings_file.plan
    topic_route = plan.route("topic")
    warnings: list[str] = []
    cache = TokenCache(token_dir if token_dir is not None else default_token_dir())
    # Before anything is collected: a broker that is not running gets no report.
    runtime = identify(session, settings_file, broker_id, topic_route.target, cache)
    if runtime.warning:
        warnings.append(runtime.warning)
    report = collect(broker_id, settings_file, session, runtime.token, state=state,
                     kafka_home=kafka_home)
    warnings += report.warnings
    value = encode(report.record, report.schema)
    outcome = ReportOutcome(broker_id, enabled=True, dry_run=dry_run, schema=report.schema,
                            record=report.record, value=value, warnings=warnings,
                            withheld=report.withheld, withheld_jvm=report.withheld_jvm,
                            token_source=runtime.source)
    if dry_run:
        outcome.destinations = [skipped(d, "dry run") for d in ("topic", "https", "http")]
        return outcome

    topic = topic_route.target
    if topic is None:
        outcome.destinations.append(skipped("topic", topic_route.reason or "not sent"))
    elif submitter is not None:
        outcome.destinations.append(submitter.submit(topic, value, broker_id))
        warnings += submitter.warnings
    else:
        from engine.reporting.submit_topic import submit_topic

        outcome.destinations.append(submit_topic(session, topic, value, broker_id, warnings))
    # An invalid customer id was reported anonymously; HTTP must use the matching path.
    customer_id = "anonymous" if report.schema == "basic" else plan.customer_id
    outcome.destinations += _send_http(value, settings_file, customer_id, http_verify,
                                       http_token)
    for result in outcome.destinations:
        log.info("broker %s report to %s: %s", broker_id, result.destination, result.detail)
    return outcome
