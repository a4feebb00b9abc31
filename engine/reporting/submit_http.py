"""Send one report over HTTPS, and over HTTP only where the settings allow it (SPEC.md §3).

The request is CP's: `POST <base>/anon|/test|/submit`, multipart form with a text part
`cid` and a binary part `file` (filename `filename`, application/octet-stream) holding the
report value. HTTPS is tried first; any answer but 200 — or no answer — falls back to HTTP
only when the insecure endpoint is enabled. Nothing goes out in clear text otherwise.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from engine.config import settings as ps_settings
from engine.errors import ValidationError
from engine.reporting.outcome import DestinationResult

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 2.0


@dataclass(frozen=True)
class HttpSettings:
    """Where and how reports go over HTTP. `verify` is a CA bundle path or True (system)."""

    secure_enabled: bool = True
    insecure_enabled: bool = True
    secure_url: str = ps_settings.DEFAULTS[ps_settings.SECURE_ENDPOINT]
    insecure_url: str = ps_settings.DEFAULTS[ps_settings.INSECURE_ENDPOINT]
    proxy: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    verify: str | bool = True

    @classmethod
    def from_properties(cls, props: Mapping[str, str], *, timeout: float = DEFAULT_TIMEOUT,
                        verify: str | bool = True) -> HttpSettings:
        """Build from `server.properties` keys (SPEC.md §4), defaults for absent keys.

        An invalid value raises ValidationError naming the key: falling back to a default
        here could turn a mistyped `...insecure.enable=flase` into sending in clear text.
        (`SettingsFile.plan` applies the same rule, and `report_now` asks the plan first.)
        """
        keys = (ps_settings.SECURE_ENABLE, ps_settings.INSECURE_ENABLE,
                ps_settings.SECURE_ENDPOINT, ps_settings.INSECURE_ENDPOINT, ps_settings.PROXY)
        values: dict[str, bool | int | str] = {}
        for key in keys:
            raw = props.get(key, ps_settings.DEFAULTS[key])
            problem = ps_settings.validate(key, raw)
            if problem is not None:
                # The proxy value may carry credentials: never echo it.
                shown = "" if key == ps_settings.PROXY else f"={raw!r}"
                raise ValidationError(f"{key}{shown} {problem}")
            values[key] = ps_settings.typed_value(key, raw)
        proxy = str(values[ps_settings.PROXY])
        return cls(
            secure_enabled=bool(values[ps_settings.SECURE_ENABLE]),
            insecure_enabled=bool(values[ps_settings.INSECURE_ENABLE]),
            secure_url=str(values[ps_settings.SECURE_ENDPOINT]),
            insecure_url=str(values[ps_settings.INSECURE_ENDPOINT]),
            proxy=proxy or None,
            timeout=timeout,
            verify=verify,
        )


def endpoint_path(customer_id: str) -> str:
    """`/anon`, `/test` (c0) or `/submit`; an invalid id reports as anonymous, as in CP.
    (The settings decide it, for the plan `settings show` prints too.)"""
    return ps_settings.endpoint_path(customer_id)


def _form_cid(customer_id: str) -> str:
    kind = ps_settings.customer_id_kind(customer_id)
    return "anonymous" if kind == "invalid" else customer_id


def _proxy_label(proxy: str | None) -> str:
    """host:port of the proxy, for messages: never its user name or password."""
    if not proxy:
        return ""
    try:
        parts = urlsplit(proxy)
        return f"{parts.hostname}:{parts.port}" if parts.hostname else "the proxy"
    except ValueError:
        return "the proxy"


def _redact(text: str, settings: HttpSettings) -> str:
    if settings.proxy and settings.proxy in text:
        text = text.replace(settings.proxy, _proxy_label(settings.proxy))
    return text


def _one_line(exc: BaseException, settings: HttpSettings) -> str:
    message = " ".join(str(exc).split()) or "no detail"
    return _redact(f"{type(exc).__name__}: {message}", settings)[:300]


def _verify(settings: HttpSettings) -> ssl.SSLContext | bool:
    if isinstance(settings.verify, str):
        return ssl.create_default_context(cafile=settings.verify)
    return bool(settings.verify)


def _post(client: httpx.Client, destination: str, url: str, value: bytes, cid: str,
          settings: HttpSettings) -> DestinationResult:
    try:
        response = client.post(
            url, data={"cid": cid},
            files={"file": ("filename", value, "application/octet-stream")})
    except httpx.TimeoutException as exc:
        return DestinationResult(destination, False,
                                 f"timed out after {settings.timeout:g} s "
                                 f"({type(exc).__name__})")
    except (httpx.HTTPError, OSError, ssl.SSLError) as exc:
        return DestinationResult(destination, False, _one_line(exc, settings))
    if response.status_code == 200:
        return DestinationResult(destination, True, f"HTTP 200 from {_host(url)}")
    return DestinationResult(destination, False,
                             f"HTTP {response.status_code} from {_host(url)}")


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1]


def _attempt(destination: str, base: str, path: str, value: bytes, cid: str,
             settings: HttpSettings) -> DestinationResult:
    """One POST to one endpoint; refuses a base URL of the wrong scheme unsent."""
    scheme = f"{destination}://"
    if not base.lower().startswith(scheme):
        return DestinationResult(destination, False,
                                 f"{destination} endpoint is not a {scheme} URL; nothing sent")
    verify: ssl.SSLContext | bool = True
    if destination == "https":
        try:
            verify = _verify(settings)
        except (OSError, ssl.SSLError) as exc:
            return DestinationResult(destination, False,
                                     f"cannot load CA bundle: {_one_line(exc, settings)}")
    with httpx.Client(timeout=httpx.Timeout(settings.timeout), verify=verify,
                      proxy=settings.proxy, follow_redirects=False, trust_env=False) as client:
        return _post(client, destination, base.rstrip("/") + path, value, cid, settings)


def submit_http(value: bytes, customer_id: str, settings: HttpSettings
                ) -> list[DestinationResult]:
    """POST one report value; return one result per endpoint attempted, in order.

    HTTPS first when enabled; HTTP only when enabled and HTTPS was disabled or did not
    answer 200. Redirects are not followed (a 3xx counts as a failure), and proxies from
    the environment are ignored: only `settings.proxy` is used.
    """
    path = endpoint_path(customer_id)
    cid = _form_cid(customer_id)
    via = f" via proxy {_proxy_label(settings.proxy)}" if settings.proxy else ""
    plan = [("https", settings.secure_url, settings.secure_enabled),
            ("http", settings.insecure_url, settings.insecure_enabled)]
    results: list[DestinationResult] = []
    for destination, base, enabled in plan:
        if not enabled:
            continue
        result = _attempt(destination, base, path, value, cid, settings)
        log.info("report over %s%s: %s", destination.upper(), via, result.detail)
        results.append(result)
        if result.ok:
            break  # HTTP is only a fallback for a failed HTTPS attempt
    return results
