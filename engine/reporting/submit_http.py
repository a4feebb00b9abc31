"""Send one report over HTTPS, and over HTTP only where the settings allow it (CP's protocol).

The request is CP's: `POST <base>/anon|/test|/submit`, multipart form with a text part
`cid` and a binary part `file` (filename `filename`, application/octet-stream) holding the
report value. HTTPS is tried first; any answer but 200 — or no answer — falls back to HTTP
only when the insecure endpoint is enabled. Nothing goes out in clear text otherwise.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from engine.config import settings as ps_settings
from engine.errors import ValidationError
from engine.reporting.outcome import DestinationResult
from engine.text import printable

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 2.0
# A receiver answers "ok"; what it says beyond a few KiB is never read (a hostile endpoint
# could stream a 200 forever).
RESPONSE_READ_LIMIT = 4096
# The part of a post's deadline after which the response body is no longer waited for, so
# that a 200 whose body trickles still ends as a 200 (and closing fits in the rest).
_BODY_SHARE = 0.9


@dataclass(frozen=True)
class HttpSettings:
    """Where and how reports go over HTTP. `verify` is a CA bundle path or True (system).

    `timeout` bounds each post as a whole (connect, send, response), not each read.
    `token`, when set, is sent as `Authorization: Bearer ...` over HTTPS only; it is kept
    out of `repr` so that no log or error message can show it.
    """

    secure_enabled: bool = True
    insecure_enabled: bool = True
    secure_url: str = ps_settings.DEFAULTS[ps_settings.SECURE_ENDPOINT]
    insecure_url: str = ps_settings.DEFAULTS[ps_settings.INSECURE_ENDPOINT]
    proxy: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    verify: str | bool = True
    token: str | None = field(default=None, repr=False)

    @classmethod
    def from_properties(cls, props: Mapping[str, str], *, timeout: float = DEFAULT_TIMEOUT,
                        verify: str | bool = True, token: str | None = None
                        ) -> HttpSettings:
        """Build from `server.properties` keys, defaults for absent keys.

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
            token=token,
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
    if settings.token and settings.token in text:
        text = text.replace(settings.token, "***")
    return text


def _one_line(exc: BaseException, settings: HttpSettings) -> str:
    # An error's text can quote what the peer sent: escaped before it reaches a log.
    message = " ".join(str(exc).split()) or "no detail"
    return printable(_redact(f"{type(exc).__name__}: {message}", settings)[:300])


def _run(coro: Coroutine[Any, Any, int]) -> int:
    """Run `coro` on an event loop of its own, also when the caller's thread has one."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=work, name="submit-http", daemon=True)
    worker.start()
    worker.join()  # bounded: the coroutine carries its own deadline
    if "error" in box:
        raise box["error"]
    return int(box["result"])


def _verify(settings: HttpSettings) -> ssl.SSLContext | bool:
    if isinstance(settings.verify, str):
        return ssl.create_default_context(cafile=settings.verify)
    return bool(settings.verify)


async def _post(client: httpx.AsyncClient, url: str, value: bytes, cid: str,
                headers: dict[str, str], body_until: float) -> int:
    """POST the form and return the status. The status is the answer: of the body, at
    most RESPONSE_READ_LIMIT bytes are read, and only until `body_until` (loop time)."""
    async with client.stream(
            "POST", url, data={"cid": cid}, headers=headers,
            files={"file": ("filename", value, "application/octet-stream")}) as response:
        read = 0
        try:
            async with asyncio.timeout_at(body_until):
                # aiter_raw: the bytes as sent, so a compressed answer cannot inflate.
                async for chunk in response.aiter_raw():
                    read += len(chunk)
                    if read >= RESPONSE_READ_LIMIT:
                        break
        except TimeoutError:
            pass  # a body still trickling after the status line changes nothing
        return response.status_code


async def _post_within(deadline: float, client_args: dict[str, Any], url: str, value: bytes,
                       cid: str, headers: dict[str, str]) -> int:
    # One clock for the whole exchange: httpx's own timeouts restart on every read, so a
    # peer that trickles a byte at a time would never trip them.
    loop = asyncio.get_running_loop()
    body_until = loop.time() + deadline * _BODY_SHARE
    async with asyncio.timeout(deadline):
        async with httpx.AsyncClient(**client_args) as client:
            return await _post(client, url, value, cid, headers, body_until)


def _exchange(destination: str, url: str, value: bytes, cid: str, settings: HttpSettings,
              verify: ssl.SSLContext | bool) -> DestinationResult:
    client_args: dict[str, Any] = {
        "timeout": httpx.Timeout(settings.timeout), "verify": verify,
        "proxy": settings.proxy, "follow_redirects": False, "trust_env": False}
    headers = {"Authorization": f"Bearer {settings.token}"} if settings.token else {}
    try:
        status = _run(_post_within(settings.timeout, client_args, url, value, cid, headers))
    except (TimeoutError, httpx.TimeoutException) as exc:
        return DestinationResult(destination, False,
                                 f"timed out after {settings.timeout:g} s "
                                 f"({type(exc).__name__})")
    except (httpx.HTTPError, OSError, ssl.SSLError) as exc:
        return DestinationResult(destination, False, _one_line(exc, settings))
    if status == 200:
        return DestinationResult(destination, True, f"HTTP 200 from {_host(url)}")
    return DestinationResult(destination, False, f"HTTP {status} from {_host(url)}")


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
    if settings.token and destination != "https":
        # The token is a secret: it never travels in clear text (nor to CP's public
        # HTTP host, the insecure endpoint's default).
        return DestinationResult(destination, False,
                                 "a bearer token is set: it is sent over HTTPS only; "
                                 "nothing sent")
    return _exchange(destination, base.rstrip("/") + path, value, cid, settings, verify)


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
