"""The console's configuration: a TOML file, then `PS_CONSOLE_*` variables, then flags.

The file lives at the platform's config path (`platformdirs`), or wherever
`PS_CONSOLE_CONFIG` / `--config` point. It holds named cluster profiles and key remaps:

    profile = "prod"            # the profile used when --profile is not given

    [profiles.prod]
    zookeeper = "zk1:2181,zk2:2181/kafka"
    zookeeper_auth = "/etc/ps-console/zk-auth.properties"   # credentials stay in that file
    topic = "__confluent.support.metrics"
    broker_configs = ["/etc/kafka/server.properties"]
    read_only = true

    [keys]
    export = "x"                # binding id = key(s)

    [health]                    # the health rules (engine.health); every key optional
    window_hours = 24           # broker-restarted and controller changes look this far back
    report_interval_hours = 24  # brokers whose server.properties the console is not given
    grace_seconds = 600         # default: 10 % of the interval, at least 60 s
    broker_down_intervals = 2   # broker-down: reported within this many intervals
    silence = ["broker-restarted"]
    drift_keys = ["min.insync.replicas", "log.retention.hours"]  # replaces the default list
    support_min_replicas = 3
    support_min_retention_days = 365
    max_described_topics = 1000

    [health.severity]
    version-drift = "critical"  # rule id = critical | warning | info

Every effective value remembers where it came from, so `ps-console --show-config` can say
why the console talks to the cluster it talks to.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platformdirs import user_config_path

from engine.cluster.location import DEFAULT_TOPIC
from engine.errors import UsageError, ValidationError
from engine.health.config import HealthConfig

APP_NAME = "ps-console"
ENV_PREFIX = "PS_CONSOLE_"

# The settings a profile may hold, with how the environment spells each one.
_FIELDS: dict[str, str] = {
    "zookeeper": "ZOOKEEPER",
    "bootstrap": "BOOTSTRAP",
    "command_config": "COMMAND_CONFIG",
    "zookeeper_auth": "ZOOKEEPER_AUTH",
    "topic": "TOPIC",
    "broker_configs": "BROKER_CONFIGS",
    "read_only": "READ_ONLY",
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """`PS_CONSOLE_CONFIG` if set, else `config.toml` in the platform's config folder."""
    env = os.environ if env is None else env
    override = env.get(f"{ENV_PREFIX}CONFIG")
    if override:
        return Path(override)
    return user_config_path(APP_NAME) / "config.toml"


@dataclass
class ConsoleConfig:
    """What the console runs with, and the origin of every value (for `--show-config`)."""

    zookeeper: str | None = None
    bootstrap: str | None = None
    command_config: str | None = None
    zookeeper_auth: str | None = None  # a path: the credentials themselves stay in that file
    topic: str = DEFAULT_TOPIC
    broker_configs: tuple[str, ...] = ()
    read_only: bool = False
    profile: str | None = None
    keys: dict[str, str] = field(default_factory=dict)
    health: HealthConfig = field(default_factory=HealthConfig)
    path: Path | None = None
    sources: dict[str, str] = field(default_factory=dict)

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, value, where it came from) for every setting, secrets never included:
        the command config is shown as a path, never opened here."""
        rows: list[tuple[str, str, str]] = [
            ("config file", str(self.path) if self.path else "(none)",
             self.sources.get("path", "default")),
            ("profile", self.profile or "(none)", self.sources.get("profile", "default")),
        ]
        for name in _FIELDS:
            value: Any = getattr(self, name)
            if isinstance(value, tuple):
                shown = ", ".join(value) or "(none)"
            elif value is None:
                shown = "(none)"
            else:
                shown = str(value).lower() if isinstance(value, bool) else str(value)
            rows.append((name, shown, self.sources.get(name, "default")))
        rows.append(("health", _health_summary(self.health),
                     self.sources.get("health", "default")))
        for binding_id, key in sorted(self.keys.items()):
            rows.append((f"keys.{binding_id}", key, self.sources.get(f"keys.{binding_id}",
                                                                     "config file")))
        return rows


def _parse_bool(raw: object, where: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UsageError(f"{where}: expected true or false, got {raw!r}")


def _coerce(name: str, raw: object, where: str) -> object:
    if name == "read_only":
        return _parse_bool(raw, where)
    if name == "broker_configs":
        if isinstance(raw, str):
            # The environment carries a list as a path list, like PATH.
            return tuple(p for p in raw.split(os.pathsep) if p)
        if isinstance(raw, list) and all(isinstance(p, str) for p in raw):
            return tuple(raw)
        raise UsageError(f"{where}: expected a list of file paths")
    if not isinstance(raw, str):
        raise UsageError(f"{where}: expected a string, got {raw!r}")
    return raw


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None


def load_config(args: argparse.Namespace | None = None,
                env: Mapping[str, str] | None = None,
                path: Path | None = None) -> ConsoleConfig:
    """Merge the config file, the environment and the flags, later ones winning."""
    env = os.environ if env is None else env
    cfg = ConsoleConfig()
    flag_path = getattr(args, "config", None) if args is not None else None
    if flag_path:
        cfg.path, cfg.sources["path"] = Path(flag_path), "--config"
    elif path is not None:
        cfg.path, cfg.sources["path"] = path, "argument"
    else:
        cfg.path = default_config_path(env)
        cfg.sources["path"] = f"{ENV_PREFIX}CONFIG" if env.get(f"{ENV_PREFIX}CONFIG") \
            else "platform default"
    data = _read_file(cfg.path)

    profile = getattr(args, "profile", None) if args is not None else None
    if profile:
        cfg.profile, cfg.sources["profile"] = profile, "--profile"
    elif env.get(f"{ENV_PREFIX}PROFILE"):
        cfg.profile, cfg.sources["profile"] = env[f"{ENV_PREFIX}PROFILE"], \
            f"{ENV_PREFIX}PROFILE"
    elif isinstance(data.get("profile"), str):
        cfg.profile, cfg.sources["profile"] = data["profile"], "config file"

    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise UsageError(f"{cfg.path}: [profiles] must be a table")
    if cfg.profile is not None:
        if cfg.profile not in profiles:
            known = ", ".join(sorted(profiles)) or "none defined"
            raise UsageError(f"no profile {cfg.profile!r} in {cfg.path} ({known})")
        section = profiles[cfg.profile]
        for key, raw in section.items():
            if key not in _FIELDS:
                raise UsageError(f"{cfg.path}: [profiles.{cfg.profile}] has an unknown "
                                 f"setting {key!r} (known: {', '.join(_FIELDS)})")
            setattr(cfg, key, _coerce(key, raw, f"{cfg.path} [profiles.{cfg.profile}].{key}"))
            cfg.sources[key] = f"profile {cfg.profile}"

    keys = data.get("keys", {})
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise UsageError(f"{cfg.path}: [keys] maps binding ids to key strings")
    cfg.keys = dict(keys)
    cfg.health = health_config(data.get("health"), cfg.path)
    if "health" in data:
        cfg.sources["health"] = "config file"

    for name, suffix in _FIELDS.items():
        raw = env.get(ENV_PREFIX + suffix)
        if raw is not None:
            setattr(cfg, name, _coerce(name, raw, ENV_PREFIX + suffix))
            cfg.sources[name] = ENV_PREFIX + suffix

    if args is not None:
        flags: dict[str, object] = {
            "zookeeper": getattr(args, "zookeeper", None),
            "bootstrap": getattr(args, "bootstrap_server", None),
            "command_config": getattr(args, "command_config", None),
            "zookeeper_auth": getattr(args, "zookeeper_auth", None),
            "topic": getattr(args, "topic", None),
        }
        for name, value in flags.items():
            if value is not None:
                setattr(cfg, name, value)
                cfg.sources[name] = "--" + name.replace("_", "-").replace(
                    "bootstrap", "bootstrap-server")
        if getattr(args, "broker_config", None):
            cfg.broker_configs = tuple(args.broker_config)
            cfg.sources["broker_configs"] = "--broker-config"
        if getattr(args, "read_only", False):
            cfg.read_only = True
            cfg.sources["read_only"] = "--read-only"

    # A flag naming one way to reach the cluster replaces the other from the file.
    if cfg.sources.get("zookeeper", "").startswith("--") and \
            not cfg.sources.get("bootstrap", "").startswith("--"):
        cfg.bootstrap = None
        cfg.sources.pop("bootstrap", None)
    if cfg.sources.get("bootstrap", "").startswith("--") and \
            not cfg.sources.get("zookeeper", "").startswith("--"):
        cfg.zookeeper = None
        cfg.sources.pop("zookeeper", None)
    return cfg


# The [health] table: TOML key -> (HealthConfig field, unit factor or kind).
_HEALTH_NUMBERS: dict[str, tuple[str, float]] = {
    "window_hours": ("window_s", 3600.0),
    "report_interval_hours": ("default_interval_s", 3600.0),
    "grace_seconds": ("grace_s", 1.0),
    "broker_down_intervals": ("down_intervals", 1.0),
}
_HEALTH_WHOLE: dict[str, tuple[str, int]] = {
    "support_min_replicas": ("support_min_replicas", 1),
    "support_min_retention_days": ("support_min_retention_ms", 86_400_000),
    "max_described_topics": ("max_described_topics", 1),
}
_HEALTH_KEYS = (*_HEALTH_NUMBERS, *_HEALTH_WHOLE, "silence", "drift_keys", "severity")


def _health_summary(config: HealthConfig) -> str:
    """The settings of the [health] table that differ from the defaults, one line."""
    import dataclasses

    default = HealthConfig()
    changed = []
    for item in dataclasses.fields(HealthConfig):
        value = getattr(config, item.name)
        if value != getattr(default, item.name):
            shown = ", ".join(sorted(value)) if isinstance(value, frozenset) else value
            changed.append(f"{item.name}={shown}")
    return "; ".join(changed) or "(defaults)"


def health_config(table: object, path: Path | None = None) -> HealthConfig:
    """The `[health]` table of the console's config file as the engine's HealthConfig (the
    defaults when the table is absent). UsageError naming the file and key for anything
    unknown or invalid: a health check must not run on settings it misread."""
    where = f"{path} [health]" if path is not None else "[health]"
    if table is None:
        return HealthConfig()
    if not isinstance(table, dict):
        raise UsageError(f"{where} must be a table")
    unknown = sorted(set(table) - set(_HEALTH_KEYS))
    if unknown:
        raise UsageError(f"{where} has an unknown setting {unknown[0]!r} (known: "
                         f"{', '.join(_HEALTH_KEYS)})")
    values: dict[str, Any] = {}
    for key, (name, factor) in _HEALTH_NUMBERS.items():
        if key in table:
            raw = table[key]
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise UsageError(f"{where}.{key}: expected a number, got {raw!r}")
            values[name] = float(raw) * factor
    for key, (name, whole) in _HEALTH_WHOLE.items():
        if key in table:
            raw = table[key]
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise UsageError(f"{where}.{key}: expected a whole number, got {raw!r}")
            values[name] = raw * whole
    for key in ("silence", "drift_keys"):
        if key in table:
            raw = table[key]
            if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
                raise UsageError(f"{where}.{key}: expected a list of strings")
            values["silenced" if key == "silence" else key] = (
                frozenset(raw) if key == "silence" else tuple(raw))
    if "severity" in table:
        raw = table["severity"]
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            raise UsageError(f"{where}.severity: expected a table of rule id = severity")
        values["severities"] = dict(raw)
    try:
        return HealthConfig(**values)
    except ValidationError as exc:
        raise UsageError(f"{where}: {str(exc).removeprefix('health: ')}") from None


def load_health_config(path: Path | None = None,
                       env: Mapping[str, str] | None = None) -> HealthConfig:
    """The `[health]` table of the console's config file (`path`, else the default path);
    the defaults when there is no file or no table."""
    target = path if path is not None else default_config_path(env)
    return health_config(_read_file(target).get("health"), target)
