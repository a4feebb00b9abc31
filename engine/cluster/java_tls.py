"""The TLS settings of a Java client.properties, as librdkafka settings.

- Truststore (`ssl.truststore.location`, `.password`, `.type`, or the inline PEM of
  `ssl.truststore.certificates`): a PEM file becomes `ssl.ca.location`; the certificates
  of a PKCS12 file are read here and handed over in memory as `ssl.ca.pem` (no file is
  written); a JKS file gets the keytool command that makes it usable.
- Keystore (`ssl.keystore.location`, `.password`, `.type`, `ssl.key.password`, or the
  inline PEM of `ssl.keystore.certificate.chain` and `ssl.keystore.key`): a PKCS12 file is
  opened here (a wrong password is one clear line) and its key and chain handed over in
  memory as `ssl.key.pem` and `ssl.certificate.pem` (librdkafka's own PKCS12 reader refuses
  the RC2-40 files of older keytools); a PEM file (key and chain in one file, Java's PEM
  keystore) becomes `ssl.certificate.location` and `ssl.key.location`; JKS gets the keytool
  command.
- `ssl.endpoint.identification.algorithm`: Java's empty value (no host name check) is
  librdkafka's `none`; `https` stays.

The format is read from the file itself; a declared `*.type` must fit it the way Java's
keystore loader allows (JKS and PKCS12 read each other's files, PEM is only PEM).
"""

from __future__ import annotations

from engine.cluster.keystores import (
    StoreError,
    StoreKind,
    check_key_matches,
    keytool_advice,
    normalize_pem,
    pem_certificates,
    pem_private_key,
    pkcs12_key_and_chain,
    pkcs12_trusted_pem,
    read_store,
    store_kind,
)
from engine.cluster.translation import Draft
from engine.errors import NotFound

ENDPOINT = "ssl.endpoint.identification.algorithm"
KNOWN_TYPES = ("JKS", "PKCS12", "PEM")
STORE_KEYS = ("ssl.truststore.location", "ssl.truststore.password", "ssl.truststore.type",
              "ssl.truststore.certificates", "ssl.keystore.location", "ssl.keystore.password",
              "ssl.keystore.type", "ssl.keystore.certificate.chain", "ssl.keystore.key",
              "ssl.key.password")


def translate_tls(draft: Draft) -> None:
    """Replace the Java TLS settings of `draft` by librdkafka's (module docstring);
    ClientConfigError / StoreError for what cannot be used, NotFound for a missing file."""
    _endpoint(draft)
    protocol = (draft.given.get("security.protocol") or "").upper()
    if protocol in ("PLAINTEXT", "SASL_PLAINTEXT"):
        # Java reads no store without TLS. (With no security.protocol at all the stores
        # are read: a KRaft broker's own listener may still make it SSL, see `locate`.)
        for key in STORE_KEYS:
            if draft.take(key) is not None:
                draft.hint(key, f"is not used: security.protocol is {protocol}, without TLS")
        return
    try:
        _truststore(draft)
        _keystore(draft)
    except (StoreError, NotFound) as exc:
        # The store's own message names the setting and the file; add the config file.
        raise type(exc)(f"{draft.source}: {exc}") from None


def _endpoint(draft: Draft) -> None:
    value = draft.given.get(ENDPOINT)
    if value is None:
        return
    if value == "":
        draft.take(ENDPOINT)
        # Java disables host name checks with an empty value; librdkafka refuses the empty
        # string and spells it "none".
        draft.put(ENDPOINT, "none", ENDPOINT)
        draft.hint(ENDPOINT, "is empty (Java's way to turn off host name verification); "
                             "using librdkafka's 'none'")
    elif value.lower() not in ("https", "none"):
        raise draft.error(ENDPOINT, "must be https (check the broker's host name), or empty "
                                    "or none (do not)")


def _declared(draft: Draft, key: str) -> str | None:
    declared = draft.take(key)
    if declared is None or declared == "":
        return None
    declared = declared.upper()
    if declared not in KNOWN_TYPES:
        raise draft.error(key, f"is {declared}, which librdkafka cannot read: export the "
                               "store as PKCS12 or PEM (keytool -importkeystore "
                               "-deststoretype PKCS12)")
    return declared


def _check_type(draft: Draft, key: str, path: str, kind: StoreKind, declared: str | None
                ) -> None:
    """Java reads JKS and PKCS12 files under either type; PEM only as PEM."""
    if kind == "unknown":
        raise draft.error(key.replace(".type", ".location"),
                          f"names {path}, which is neither PEM, PKCS12 nor JKS")
    if declared is None:
        if kind == "PEM":
            raise draft.error(key, f"is not set but {path} is PEM: add {key}=PEM (as Java "
                                   "needs too)")
        return
    if (declared == "PEM") != (kind == "PEM"):
        raise draft.error(key, f"is {declared} but {path} is {kind}: set {key}={kind}")


def _truststore(draft: Draft) -> None:
    inline = draft.take("ssl.truststore.certificates")
    location = draft.take("ssl.truststore.location")
    password = draft.take("ssl.truststore.password")
    declared = _declared(draft, "ssl.truststore.type")
    if inline is not None and location is not None:
        raise draft.error("ssl.truststore.certificates", "and ssl.truststore.location are "
                                                         "both set: keep one of them")
    if inline:
        if password:
            raise draft.error("ssl.truststore.password", "is set for PEM certificates, which "
                                                         "have no password: remove it")
        pem = normalize_pem(inline)
        pem_certificates(pem.encode("ascii", "replace"), "the inline certificates",
                         "ssl.truststore.certificates")
        draft.put("ssl.ca.pem", pem, "ssl.truststore.certificates")
        return
    if not location:
        if password:
            draft.hint("ssl.truststore.password", "is not used: no ssl.truststore.location")
        return
    if draft.has("ssl.ca.location") or draft.has("ssl.ca.pem"):
        raise draft.error("ssl.truststore.location", "and ssl.ca.location (or ssl.ca.pem) "
                                                     "are both set: keep one of them")
    data = read_store(location, "ssl.truststore.location")
    kind = store_kind(data)
    _check_type(draft, "ssl.truststore.type", location, kind, declared)
    if kind == "PEM":
        if password:
            raise draft.error("ssl.truststore.password", "is set for a PEM truststore, which "
                                                         "has no password: remove it (Java "
                                                         "refuses it too)")
        pem_certificates(data, location, "ssl.truststore.location")
        draft.put("ssl.ca.location", location, "ssl.truststore.location")
    elif kind == "PKCS12":
        draft.put("ssl.ca.pem", pkcs12_trusted_pem(data, password, location),
                  "ssl.truststore.location")
    else:
        raise draft.error("ssl.truststore.location",
                          f"names {location}, a {kind} store, which librdkafka cannot read: "
                          + keytool_advice(location, kind, data, "truststore"))


def _keystore(draft: Draft) -> None:
    chain = draft.take("ssl.keystore.certificate.chain")
    key = draft.take("ssl.keystore.key")
    declared = _declared(draft, "ssl.keystore.type")
    if chain is not None or key is not None:
        _inline_keystore(draft, chain, key)
        return
    location = draft.given.get("ssl.keystore.location")
    if not location:
        return
    for other in ("ssl.certificate.location", "ssl.certificate.pem", "ssl.key.location",
                  "ssl.key.pem"):
        if draft.has(other):
            raise draft.error("ssl.keystore.location", f"and {other} are both set: keep "
                                                       "one of them")
    data = read_store(location, "ssl.keystore.location")
    kind = store_kind(data)
    _check_type(draft, "ssl.keystore.type", location, kind, declared)
    store_password = draft.given.get("ssl.keystore.password")
    key_password = draft.given.get("ssl.key.password")
    if kind == "PKCS12":
        if not store_password:
            raise draft.error("ssl.keystore.location", f"names the PKCS12 file {location}, "
                                                       "which needs ssl.keystore.password")
        if key_password and key_password != store_password:
            raise draft.error("ssl.key.password", "differs from ssl.keystore.password, but a "
                                                  "PKCS12 keystore has one password (keytool "
                                                  "makes it so): give the store password in "
                                                  "both, or drop ssl.key.password")
        # Handed over in memory rather than left to librdkafka, whose OpenSSL 3 cannot
        # open the PKCS12 files older keytools wrote (RC2-40, "legacy"); cryptography can.
        key_pem, chain_pem = pkcs12_key_and_chain(data, store_password, location)
        for used in ("ssl.keystore.location", "ssl.keystore.password", "ssl.key.password"):
            draft.take(used)
        draft.put("ssl.certificate.pem", chain_pem, "ssl.keystore.location")
        draft.put("ssl.key.pem", key_pem, "ssl.keystore.location")
        return
    if kind == "PEM":
        draft.take("ssl.keystore.location")
        if store_password:
            raise draft.error("ssl.keystore.password", "is set for a PEM keystore, where only "
                                                       "ssl.key.password applies: remove it "
                                                       "(Java refuses it too)")
        draft.take("ssl.keystore.password")
        private = pem_private_key(data, key_password, location, "ssl.keystore.location")
        check_key_matches(private, pem_certificates(data, location, "ssl.keystore.location"),
                          location, "ssl.keystore.location")
        draft.put("ssl.certificate.location", location, "ssl.keystore.location")
        draft.put("ssl.key.location", location, "ssl.keystore.location")
        return
    draft.take("ssl.keystore.location")
    raise draft.error("ssl.keystore.location",
                      f"names {location}, a {kind} store, which librdkafka cannot read: "
                      + keytool_advice(location, kind, data, "keystore"))


def _inline_keystore(draft: Draft, chain: str | None, key: str | None) -> None:
    where = "ssl.keystore.key"
    if not chain or not key:
        raise draft.error("ssl.keystore.certificate.chain", "and ssl.keystore.key go "
                                                            "together: give both")
    if draft.has("ssl.keystore.location"):
        raise draft.error("ssl.keystore.key", "and ssl.keystore.location are both set: keep "
                                              "one of them")
    if draft.take("ssl.keystore.password"):
        raise draft.error("ssl.keystore.password", "is set for a PEM key, where only "
                                                   "ssl.key.password applies: remove it")
    chain, key = normalize_pem(chain), normalize_pem(key)
    private = pem_private_key(key.encode("ascii", "replace"), draft.given.get(
        "ssl.key.password"), "the inline key", where)
    check_key_matches(private, pem_certificates(chain.encode("ascii", "replace"),
                                                "the inline chain",
                                                "ssl.keystore.certificate.chain"),
                      "the inline chain", "ssl.keystore.certificate.chain")
    draft.put("ssl.certificate.pem", chain, "ssl.keystore.certificate.chain")
    draft.put("ssl.key.pem", key, "ssl.keystore.key")
