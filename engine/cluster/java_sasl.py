"""`sasl.jaas.config` of a Java client.properties, as librdkafka settings.

A Java client logs in through the one JAAS login module of `sasl.jaas.config`; librdkafka
has a setting per credential instead. The module must fit `sasl.mechanism` (Java's default
is GSSAPI): PlainLoginModule for PLAIN, ScramLoginModule for SCRAM-SHA-256/512,
Krb5LoginModule for GSSAPI, OAuthBearerLoginModule for OAUTHBEARER.

- PLAIN, SCRAM: `username`, `password` -> `sasl.username`, `sasl.password`.
- GSSAPI with a keytab (`useKeyTab=true keyTab=... principal=...`) -> `sasl.kerberos.keytab`,
  `sasl.kerberos.principal`, and `serviceName` -> `sasl.kerberos.service.name`.
- OAUTHBEARER with Kafka's OIDC login handler (client credentials) -> librdkafka's
  `sasl.oauthbearer.method=oidc` with the client id, secret, scope and extensions.

Anything else (a ticket cache, delegation tokens, unsecured development tokens, other login
modules) is refused with one line saying what to write instead.
"""

from __future__ import annotations

import os

from engine.cluster.jaas import JaasEntry, JaasSyntaxError, parse_jaas_config
from engine.cluster.translation import Draft

JAAS = "sasl.jaas.config"

PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"
OAUTH_MODULE = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"

# Login module -> the family of mechanisms it serves.
MODULES = {
    PLAIN_MODULE: "PLAIN",
    SCRAM_MODULE: "SCRAM",
    "com.sun.security.auth.module.Krb5LoginModule": "GSSAPI",
    "com.ibm.security.auth.module.Krb5LoginModule": "GSSAPI",
    OAUTH_MODULE: "OAUTHBEARER",
}
MECHANISMS = {"PLAIN": "PLAIN", "SCRAM-SHA-256": "SCRAM", "SCRAM-SHA-512": "SCRAM",
              "GSSAPI": "GSSAPI", "OAUTHBEARER": "OAUTHBEARER"}
_SHORT = {"PLAIN": "PlainLoginModule", "SCRAM": "ScramLoginModule", "GSSAPI": "Krb5LoginModule",
          "OAUTHBEARER": "OAuthBearerLoginModule"}
_MECHANISM_FOR = {"PLAIN": "PLAIN", "SCRAM": "SCRAM-SHA-256 or SCRAM-SHA-512",
                  "GSSAPI": "GSSAPI", "OAUTHBEARER": "OAUTHBEARER"}

# Kafka's OIDC client-credentials login handler (3.1-3.x under .secured, 3.4+ here).
OIDC_HANDLERS = frozenset({
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
    "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler",
})


def _named(module: str) -> str:
    """A login module's class name for a message, when it looks like one (the text in
    that place might be a mistyped secret)."""
    parts = module.split(".")
    if module.endswith("LoginModule") and all(p.isidentifier() for p in parts):
        return module
    return "a login module"


def translate_sasl(draft: Draft) -> None:
    """Replace `sasl.jaas.config` in `draft` by librdkafka's SASL settings (module
    docstring); ClientConfigError for what cannot be translated."""
    text = draft.take(JAAS)
    if text is None:
        return
    protocol = (draft.given.get("security.protocol") or "").upper()
    if protocol and not protocol.startswith("SASL_"):
        draft.hint(JAAS, f"is not used: security.protocol is {protocol}, without SASL")
        return
    # Without security.protocol Java would not log in (PLAINTEXT), but a KRaft broker's own
    # listener may still make the protocol SASL_* (see `locate`): translate all the same.
    try:
        entry = parse_jaas_config(text)
    except JaasSyntaxError as exc:
        raise draft.error(JAAS, f"cannot be read: {exc}") from None
    family = MODULES.get(entry.module)
    if family is None:
        short = entry.module.rsplit(".", 1)[-1]
        full = next((m for m in MODULES if m.rsplit(".", 1)[-1] == short), None)
        if full is not None:
            raise draft.error(JAAS, f"names {_named(entry.module)}, which Java cannot load "
                                    f"either: write its full class name, {full}")
        raise draft.error(JAAS, f"uses {_named(entry.module)}, which has no librdkafka "
                                "counterpart (PlainLoginModule, ScramLoginModule, "
                                "Krb5LoginModule and OAuthBearerLoginModule are translated)")
    given = draft.given.get("sasl.mechanism")
    mechanism = given or "GSSAPI"
    wanted = MECHANISMS.get(mechanism)
    if wanted is None:
        raise draft.error(JAAS, f"cannot be translated for sasl.mechanism={mechanism} "
                                "(PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, GSSAPI and "
                                "OAUTHBEARER can)")
    if wanted != family:
        default = "" if given else " (Java's default, as sasl.mechanism is not set)"
        raise draft.error(JAAS, f"uses {_SHORT[family]} but the mechanism is "
                                f"{mechanism}{default}: set sasl.mechanism="
                                f"{_MECHANISM_FOR[family]}, or use {_SHORT[wanted]}")
    {"PLAIN": _password_login, "SCRAM": _password_login, "GSSAPI": _kerberos,
     "OAUTHBEARER": _oauthbearer}[family](draft, entry, family)


def _password_login(draft: Draft, entry: JaasEntry, family: str) -> None:
    options = entry.options
    if family == "SCRAM" and options.get("tokenauth", "").lower() == "true":
        raise draft.error(JAAS, "logs in with a delegation token (tokenauth=true), which "
                                "librdkafka cannot: use the user's own SCRAM credentials")
    if options.get("username") is None or options.get("password") is None:
        raise draft.error(JAAS, f"{_SHORT[family]} needs username=\"...\" and "
                                "password=\"...\"")
    draft.put("sasl.username", options["username"], JAAS)
    draft.put("sasl.password", options["password"], JAAS)


def _kerberos(draft: Draft, entry: JaasEntry, family: str) -> None:
    options = entry.options
    if options.get("useKeyTab", "").lower() != "true":
        raise draft.error(JAAS, "uses Krb5LoginModule without useKeyTab=true (a ticket "
                                "cache), which is not translated: add useKeyTab=true "
                                "keyTab=\"/path/to/client.keytab\" principal=\"NAME@REALM\"; "
                                "or, to use the cache that kinit fills, replace "
                                "sasl.jaas.config with sasl.kerberos.principal=NAME@REALM and "
                                "sasl.kerberos.min.time.before.relogin=0")
    keytab, principal = options.get("keyTab"), options.get("principal")
    if not keytab:
        raise draft.error(JAAS, "has useKeyTab=true but no keyTab=\"/path/to/client.keytab\" "
                                "(librdkafka has no default keytab)")
    if not principal:
        raise draft.error(JAAS, "has no principal=\"NAME@REALM\" (the client's Kerberos "
                                "principal in the keytab)")
    if not os.access(keytab, os.R_OK):
        raise draft.error(JAAS, f"names keyTab {keytab}, which cannot be read")
    draft.put("sasl.kerberos.keytab", keytab, JAAS)
    draft.put("sasl.kerberos.principal", principal, JAAS)
    service = options.get("serviceName")
    if service:
        draft.put("sasl.kerberos.service.name", service, JAAS)
    elif not draft.given.get("sasl.kerberos.service.name"):
        raise draft.error(JAAS, "GSSAPI needs the brokers' Kerberos service name: set "
                                "sasl.kerberos.service.name (usually kafka)")


def _oauthbearer(draft: Draft, entry: JaasEntry, family: str) -> None:
    handler = draft.given.get("sasl.login.callback.handler.class")
    if handler not in OIDC_HANDLERS:
        raise draft.error(JAAS, "uses OAuthBearerLoginModule without Kafka's "
                                "OAuthBearerLoginCallbackHandler (unsecured development "
                                "tokens), which is not translated: write "
                                "enable.sasl.oauthbearer.unsecure.jwt=true and "
                                "sasl.oauthbearer.config=principal=NAME instead of "
                                "sasl.jaas.config")
    draft.take("sasl.login.callback.handler.class")
    if not draft.given.get("sasl.oauthbearer.token.endpoint.url"):
        raise draft.error(JAAS, "OAUTHBEARER with OAuthBearerLoginCallbackHandler needs "
                                "sasl.oauthbearer.token.endpoint.url")
    options = entry.options
    pairs = {"clientId": "sasl.oauthbearer.client.id",
             "clientSecret": "sasl.oauthbearer.client.secret",
             "scope": "sasl.oauthbearer.scope"}
    for option, key in pairs.items():
        if options.get(option):
            draft.put(key, options[option], JAAS)
    extensions = []
    for name in sorted(options):
        if name.startswith("extension_"):
            value = options[name]
            if any(c in value for c in ",=") or any(c in name for c in ",="):
                raise draft.error(JAAS, "has an OAUTHBEARER extension with ',' or '=' in "
                                        "it, which librdkafka's sasl.oauthbearer.extensions "
                                        "cannot carry")
            extensions.append(f"{name[len('extension_'):]}={value}")
    if extensions:
        draft.put("sasl.oauthbearer.extensions", ",".join(extensions), JAAS)
    client = ("sasl.oauthbearer.client.id", "sasl.oauthbearer.client.credentials.client.id")
    if not any(draft.out.get(k) or draft.given.get(k) for k in client):
        raise draft.error(JAAS, "OAUTHBEARER with OAuthBearerLoginCallbackHandler needs "
                                "clientId=\"...\" and clientSecret=\"...\"")
    draft.put("sasl.oauthbearer.method", "oidc", JAAS)
