"""The privacy filter of SPEC.md §5: what of a broker's configuration may leave the cluster.

Two layers, both must agree before a setting is kept:

1. The key: anything about listeners, hosts, ports, paths, ZooKeeper, racks, users or
   security (passwords, JAAS, keystores, truststores, tokens, secrets, credentials, keys,
   every `ssl.*` and `sasl.*`) is dropped, as is any key that mentions a forbidden string
   (a topic name of the cluster).
2. The value, by allow-list: only booleans, numbers, Kafka protocol versions ("3.9-IV0")
   and short enum words or lists of them ("lz4", "delete,compact") pass. Anything with a
   dot, slash, colon, "@" or space, i.e. every host name, IP address, URL, path, class name
   and JAAS line, fails this test whatever its key says. Values that contain a forbidden
   string (topic names, the host names the configuration itself mentions, this machine's
   name) are dropped too, because a single-label host name ("kafka3") looks like an enum.

The result is deliberately poorer than the input: a missing harmless setting costs little,
a leaked secret or host name breaks the product's promise.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable, Mapping

# Key fragments that are never sent, matched anywhere in the lower-cased key.
_KEY_SUBSTRINGS = (
    "listener", "advertis", "host", "path", "dir", "file", "zookeeper", "passw", "jaas",
    "keystore", "truststore", "token", "secret", "credential", "principal", "rack", "url",
    "uri", "endpoint", "proxy", "cert", "login", "kerberos", "oauth", "ldap", "encoder",
    "user", "auth", "customer", "address", "dns", "interface", "location", "jmx",
)
# Short words matched only as whole key segments ("ssl.key.password", but not "monkey").
_KEY_SEGMENT = re.compile(r"(^|[._-])(port|ports|key|ip|ssl|sasl|tls|sni)([._-]|$)")

_BOOLEAN = re.compile(r"^(true|false)$", re.IGNORECASE)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
# Protocol / message format versions: at most three numeric parts, so an IPv4 address
# (four parts) never passes as a version.
_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?(-IV\d+)?$")
_WORD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(-[A-Za-z0-9_]+)*$")
_MAX_WORD = 32
_MAX_WORDS = 8

_IPV4_TEXT = re.compile(rb"(?<![\d.])\d{1,3}(\.\d{1,3}){3}(?![\d.])")
_IPV6_TEXT = re.compile(rb"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])")


def _key_is_sensitive(key: str) -> bool:
    low = key.lower()
    return any(part in low for part in _KEY_SUBSTRINGS) or bool(_KEY_SEGMENT.search(low))


def _value_is_plain(value: str) -> bool:
    """True for values that cannot carry a host, address, path or secret by their shape."""
    text = value.strip()
    if text == "":
        return True
    if _BOOLEAN.match(text) or _NUMBER.match(text) or _VERSION.match(text):
        return True
    words = [w.strip() for w in text.split(",")]
    return (len(words) <= _MAX_WORDS
            and all(len(w) <= _MAX_WORD and _WORD.match(w) for w in words)
            and text.lower() != "localhost")


def _is_figure(value: str) -> bool:
    text = value.strip()
    return bool(_BOOLEAN.match(text) or _NUMBER.match(text) or _VERSION.match(text))


def _mentions(text: str, forbidden: Iterable[str]) -> bool:
    # Long names match anywhere; very short ones (a topic called "t") only as the whole
    # text or a whole dotted/dashed segment, or they would erase every setting.
    low = text.lower()
    segments = set(re.split(r"[.,_=:/\s-]+", low))
    for item in forbidden:
        name = item.lower().strip()
        if not name:
            continue
        if len(name) >= 4 and name in low:
            return True
        if name == low or name in segments:
            return True
    return False


def hosts_named_in(props: Mapping[str, str]) -> set[str]:
    """Host names and addresses a broker configuration mentions, plus this machine's names."""
    found: set[str] = set()
    hostport = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*://)?\[?([^\s,\[\]/@]+?)\]?:\d+")
    for key, value in props.items():
        low = key.lower()
        if "listener" in low or "zookeeper.connect" in low or "host" in low:
            for m in hostport.finditer(value):
                if m.group(1):
                    found.add(m.group(1))
    try:
        found.add(socket.gethostname())
        found.add(socket.getfqdn())
    except OSError:
        pass
    # The short name alone counts too: "kafka3" of "kafka3.corp.example".
    found |= {h.split(".")[0] for h in found if not _VERSION.match(h) and "." in h}
    return {h for h in found if h and h != "0"}


def scrub_broker_config(props: Mapping[str, str], *,
                        forbidden: Iterable[str] = ()) -> dict[str, str]:
    """Keep only the settings of `props` that are safe to send (SPEC.md §5).

    `forbidden` adds strings no kept key or value may mention (the cluster's topic names,
    host names from the cluster metadata); host names found in `props` itself and this
    machine's names are always forbidden.
    """
    banned = set(forbidden) | hosts_named_in(props)
    kept: dict[str, str] = {}
    for key, value in props.items():
        if _key_is_sensitive(key) or _mentions(key, banned):
            continue
        if not _value_is_plain(value) or _mentions(value, banned):
            continue
        if "topic" in key.lower() and not _is_figure(value):
            continue  # a word under a "...topic" key is likely a topic name
        kept[key] = value.strip()
    return kept


def find_leaks(value_bytes: bytes, forbidden: Iterable[str]) -> list[str]:
    """What of `forbidden` (and any IP address) appears in `value_bytes`."""
    leaks: list[str] = []
    low = value_bytes.lower()
    for item in forbidden:
        if item and item.lower().encode("utf-8") in low:
            leaks.append(item)
    leaks += [m.group().decode() for m in _IPV4_TEXT.finditer(value_bytes)]
    leaks += [m.group().decode() for m in _IPV6_TEXT.finditer(value_bytes)
              if m.group().count(b":") >= 2 and any(c in b"0123456789abcdefABCDEF"
                                                    for c in m.group())]
    return leaks


def assert_private(value_bytes: bytes, forbidden: Iterable[str]) -> None:
    """Raise AssertionError naming what leaked if `value_bytes` holds a forbidden string
    or any IP address. For tests, and for a paranoid check before sending."""
    leaks = find_leaks(value_bytes, forbidden)
    if leaks:
        raise AssertionError(f"private data in the report: {sorted(set(leaks))}")


# Free text such as "3.8.4-9316c2a, built on 2024-02-12 22:16 UTC" or "0/1.13/44": no URL,
# no user@host, no dotted name with letters (an FQDN or a class name), no IP address.
_FREE_TEXT = re.compile(r"^[\w .,:/+-]{0,160}$")
_DOTTED_NAME = re.compile(r"[A-Za-z][\w-]*\.[A-Za-z]")


def scrub_stats(stats: Mapping[str, str], forbidden: Iterable[str]) -> dict[str, str]:
    """Keep the entries of a status answer (ZooKeeper `srvr`) that name no host or address.

    Looser than `scrub_broker_config` about the shape of values (versions with build
    dates, latency triples), as strict about hosts: a key about addresses or ports, a
    value with an IP, a dotted host name, a URL or a forbidden string is dropped.
    """
    banned = list(forbidden)
    kept: dict[str, str] = {}
    for key, value in stats.items():
        # "Zookeeper version" is the server's own version, not a connect string.
        plain_key = key.lower().replace("zookeeper", "").replace(" ", ".")
        if _key_is_sensitive(plain_key) or _mentions(key, banned):
            continue
        text = value.strip()
        if (not _FREE_TEXT.match(text) or "://" in text or _DOTTED_NAME.search(text)
                or find_leaks(text.encode(), banned) or _mentions(text, banned)):
            continue
        kept[key] = text
    return kept
