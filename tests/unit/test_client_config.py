"""--command-config: a Java client.properties translated for librdkafka (issue 17, point 5).

Every store is a real file (tests/support/stores.py: keytool and `cryptography`); every
translated configuration is handed to a real librdkafka client, which checks keys,
certificates and passwords when it is made. Every refusal is one line without a secret.
"""

from __future__ import annotations

import logging
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from engine.cluster.client_config import ClientConfig, read_client_config
from engine.cluster.location import ClusterOptions, locate
from engine.errors import NotFound, UsageError
from tests.support.stores import KEYTOOL, Stores, make_stores

PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule"
KRB5 = "com.sun.security.auth.module.Krb5LoginModule"
OAUTH = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"
OIDC_HANDLER = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler"

# Secrets no hint, error, log line or repr may ever hold.
SASL_PASSWORD = "s4sl-Pa55w0rd"
OAUTH_SECRET = "0auth-cl1ent-s3cret"
CORPUS = [SASL_PASSWORD, OAUTH_SECRET]


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> Stores:
    s = make_stores(tmp_path_factory.mktemp("stores"))
    CORPUS.extend(s.passwords.values())
    key_body = "".join(s.client_key_pem.read_text().splitlines()[1:-1])
    CORPUS.append(key_body[10:40])  # a piece of the private key's PEM
    return s


@pytest.fixture
def write(tmp_path):
    def write(lines: dict[str, str], name: str = "client.properties") -> str:
        path = tmp_path / name
        path.write_text("".join(f"{k}={v}\n" for k, v in lines.items()),
                        encoding="iso-8859-1")
        return str(path)
    return write


@pytest.fixture(autouse=True)
def no_secret_anywhere(caplog):
    """Every log line of every test here, at DEBUG, is free of the corpus."""
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.get_records("setup") + caplog.get_records("call"):
        text = record.getMessage()
        for secret in CORPUS:
            assert secret not in text, f"a secret reached the log: {record.name}"


def accepted(config: ClientConfig) -> ClientConfig:
    """librdkafka takes the configuration (keys, PEM, PKCS12 and passwords are checked
    when the client is made) and nothing in its repr or hints is a secret."""
    AdminClient({"bootstrap.servers": "127.0.0.1:9", "log_level": 0, **config.props})
    shown = repr(config) + "\n".join(config.hints)
    for secret in CORPUS:
        assert secret not in shown
    return config


def refused(path: str, *expected: str, kind: type[Exception] = UsageError) -> str:
    """The one line the file is refused with; it holds `expected` and no secret."""
    with pytest.raises(kind) as info:
        read_client_config(path)
    line = str(info.value)
    assert "\n" not in line and line.startswith(path), line
    for secret in CORPUS:
        assert secret not in line, line
    for part in expected:
        assert part in line, line
    return line


def jaas(module: str, **options: str) -> str:
    return f"{module} required " + " ".join(f'{k}="{v}"' for k, v in options.items()) + ";"


# -- SASL --------------------------------------------------------------------------------------

@pytest.mark.parametrize("mechanism,module", [("PLAIN", PLAIN), ("SCRAM-SHA-256", SCRAM),
                                              ("SCRAM-SHA-512", SCRAM)])
def test_password_logins_become_sasl_username_and_password(write, mechanism, module):
    config = accepted(read_client_config(write({
        "security.protocol": "SASL_SSL", "sasl.mechanism": mechanism,
        "sasl.jaas.config": jaas(module, username="alice", password=SASL_PASSWORD)})))
    assert config.props == {"security.protocol": "SASL_SSL", "sasl.mechanism": mechanism,
                            "sasl.username": "alice", "sasl.password": SASL_PASSWORD}
    assert config.hints == ()
    assert config.written_as("sasl.password") == "sasl.jaas.config"


def test_a_multi_line_jaas_entry_with_escapes_and_any_option_order(tmp_path):
    path = tmp_path / "client.properties"
    # What operators write: a continued line, options in any order, a quote escaped.
    path.write_text("security.protocol = SASL_PLAINTEXT\n"
                    "sasl.mechanism: SCRAM-SHA-256   \n"
                    f"sasl.jaas.config={SCRAM} \\\n"
                    f'    Requisite password="{SASL_PASSWORD}\\\\"x" \\\n'
                    '    username=bob_1;\n')
    config = accepted(read_client_config(str(path)))
    assert config.props["sasl.username"] == "bob_1"
    assert config.props["sasl.password"] == SASL_PASSWORD + '"x'
    assert config.props["sasl.mechanism"] == "SCRAM-SHA-256"  # trimmed, as Java trims


@pytest.mark.parametrize("mechanism,module,expected", [
    ("SCRAM-SHA-256", PLAIN, "uses PlainLoginModule but the mechanism is SCRAM-SHA-256: "
                             "set sasl.mechanism=PLAIN, or use ScramLoginModule"),
    ("PLAIN", SCRAM, "set sasl.mechanism=SCRAM-SHA-256 or SCRAM-SHA-512"),
    (None, SCRAM, "the mechanism is GSSAPI (Java's default, as sasl.mechanism is not set)"),
])
def test_the_login_module_must_fit_the_mechanism(write, mechanism, module, expected):
    lines = {"security.protocol": "SASL_SSL",
             "sasl.jaas.config": jaas(module, username="u", password=SASL_PASSWORD)}
    if mechanism:
        lines["sasl.mechanism"] = mechanism
    refused(write(lines), "sasl.jaas.config", expected)


@pytest.mark.parametrize("text,expected", [
    (f'{SCRAM} required username="u" password="{SASL_PASSWORD}"', "does not end with ';'"),
    (f'{SCRAM} required username="u" password="{SASL_PASSWORD};', "does not end with ';'"),
    (f'{SCRAM} required username="u" password={SASL_PASSWORD}@x;', "number 3 has no value"),
    (f'{SCRAM} required username="u" password=;', "option 'password' has no value"),
    (f'{SCRAM} mandatory username="u" password="{SASL_PASSWORD}";', "control flag must be"),
    (f'{SCRAM} required username="u" password="{SASL_PASSWORD}"; {PLAIN} required;',
     "2 login modules; a client takes exactly one"),
    (f'ScramLoginModule required username="u" password="{SASL_PASSWORD}";',
     f"write its full class name, {SCRAM}"),
    (f'{SASL_PASSWORD} required username="u";', "uses a login module, which has no"),
    (f'{SCRAM} required username="u";', 'needs username="..." and password="..."'),
    (f'{SCRAM} required username="u" password="{SASL_PASSWORD}" tokenauth=true;',
     "delegation token"),
])
def test_a_jaas_value_java_would_refuse_is_one_line_without_the_password(write, text,
                                                                         expected):
    refused(write({"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-256",
                   "sasl.jaas.config": text}), "sasl.jaas.config", expected)


def test_librdkafka_names_keep_working_and_must_agree_with_the_jaas_login(write):
    native = {"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
              "sasl.username": "alice", "sasl.password": SASL_PASSWORD}
    assert accepted(read_client_config(write(native))).props == native
    same = {**native, "sasl.jaas.config": jaas(SCRAM, username="alice",
                                               password=SASL_PASSWORD)}
    assert accepted(read_client_config(write(same))).props == native
    refused(write({**same, "sasl.password": "another-one"}),
            "sasl.jaas.config disagrees with sasl.password, which the file also gives")


def test_a_jaas_login_without_sasl_is_not_used(write, stores):
    path = write({"security.protocol": "SSL", "ssl.ca.location": str(stores.ca_pem),
                  "sasl.jaas.config": jaas(PLAIN, username="u", password=SASL_PASSWORD)})
    config = accepted(read_client_config(path))
    assert "sasl.jaas.config" not in config.props and "sasl.password" not in config.props
    assert config.hints == (f"{path}: sasl.jaas.config is not used: security.protocol is "
                            "SSL, without SASL",)


def test_kerberos_with_a_keytab(write, tmp_path):
    keytab = tmp_path / "client.keytab"
    keytab.write_bytes(b"\x05\x02")
    config = read_client_config(write({
        "security.protocol": "SASL_SSL", "sasl.mechanism": "GSSAPI",
        "sasl.jaas.config": f'{KRB5} required useKeyTab=true storeKey=true '
                            f'keyTab="{keytab}" principal="client@EXAMPLE.COM" '
                            'serviceName="kafka";'}))
    # This librdkafka build has no GSSAPI, so it is not asked; the translation is the point.
    assert config.props == {"security.protocol": "SASL_SSL", "sasl.mechanism": "GSSAPI",
                            "sasl.kerberos.keytab": str(keytab),
                            "sasl.kerberos.principal": "client@EXAMPLE.COM",
                            "sasl.kerberos.service.name": "kafka"}
    # sasl.kerberos.service.name may come from the property instead.
    config = read_client_config(write({
        "security.protocol": "SASL_SSL", "sasl.kerberos.service.name": "kafka-prod",
        "sasl.jaas.config": f'{KRB5} required useKeyTab=TRUE keyTab="{keytab}" '
                            'principal="c@R";'}))
    assert config.props["sasl.kerberos.service.name"] == "kafka-prod"


@pytest.mark.parametrize("options,expected", [
    ("useTicketCache=true", 'add useKeyTab=true keyTab="/path/to/client.keytab" '
                            'principal="NAME@REALM"; or, to use the cache that kinit fills, '
                            "replace sasl.jaas.config with sasl.kerberos.principal=NAME@REALM "
                            "and sasl.kerberos.min.time.before.relogin=0"),
    ('useKeyTab=true principal="c@R"', 'no keyTab="/path/to/client.keytab"'),
    ('useKeyTab=true keyTab="/etc/none/such.keytab" principal="c@R"', "cannot be read"),
    ('useKeyTab=true keyTab="/dev/null"', 'no principal="NAME@REALM"'),
    ('useKeyTab=true keyTab="/dev/null" principal="c@R"', "set sasl.kerberos.service.name"),
])
def test_kerberos_that_cannot_be_translated_says_what_to_do(write, options, expected):
    refused(write({"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "GSSAPI",
                   "sasl.jaas.config": f"{KRB5} required {options};"}), expected)


def test_oauthbearer_client_credentials_become_librdkafkas_oidc(write):
    config = accepted(read_client_config(write({
        "security.protocol": "SASL_SSL", "sasl.mechanism": "OAUTHBEARER",
        "sasl.login.callback.handler.class": OIDC_HANDLER,
        "sasl.oauthbearer.token.endpoint.url": "https://idp.example/token",
        "sasl.jaas.config": f'{OAUTH} required clientId="ps" clientSecret="{OAUTH_SECRET}" '
                            'scope="kafka" extension_logicalCluster="lkc-1";'})))
    assert config.props == {
        "security.protocol": "SASL_SSL", "sasl.mechanism": "OAUTHBEARER",
        "sasl.oauthbearer.token.endpoint.url": "https://idp.example/token",
        "sasl.oauthbearer.client.id": "ps", "sasl.oauthbearer.client.secret": OAUTH_SECRET,
        "sasl.oauthbearer.scope": "kafka",
        "sasl.oauthbearer.extensions": "logicalCluster=lkc-1",
        "sasl.oauthbearer.method": "oidc"}


def test_unsecured_oauthbearer_says_what_to_write(write):
    refused(write({"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER",
                   "sasl.jaas.config": f'{OAUTH} required unsecuredLoginStringClaim_sub="a";'}),
            "enable.sasl.oauthbearer.unsecure.jwt=true and sasl.oauthbearer.config="
            "principal=NAME")


# -- truststores -------------------------------------------------------------------------------

def test_a_pkcs12_truststore_becomes_ca_certificates_in_memory(write, stores):
    for declared in ("PKCS12", "JKS", None):  # Java reads a PKCS12 file as either type
        lines = {"security.protocol": "SSL", "ssl.truststore.location": str(stores.trust_p12),
                 "ssl.truststore.password": stores.password("trust")}
        if declared:
            lines["ssl.truststore.type"] = declared
        config = accepted(read_client_config(write(lines)))
        assert set(config.props) == {"security.protocol", "ssl.ca.pem"}
        assert config.props["ssl.ca.pem"] == stores.ca_pem.read_text()
        assert config.written_as("ssl.ca.pem") == "ssl.truststore.location"
    assert not list(Path("/tmp").glob("ps-console-tls-*"))


@pytest.mark.parametrize("password,expected", [
    ("not-the-password", "cannot be opened as PKCS12 with ssl.truststore.password"),
    (None, "is PKCS12 and needs ssl.truststore.password"),
])
def test_a_pkcs12_truststore_with_a_wrong_or_no_password(write, stores, password, expected):
    lines = {"ssl.truststore.location": str(stores.trust_p12)}
    if password:
        lines["ssl.truststore.password"] = password
        CORPUS.append(password)
    refused(write(lines), "ssl.truststore.location", expected)


def test_a_pem_truststore(write, stores):
    config = accepted(read_client_config(write({
        "security.protocol": "SSL", "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(stores.chain_pem)})))
    assert config.props == {"security.protocol": "SSL",
                            "ssl.ca.location": str(stores.chain_pem)}
    refused(write({"ssl.truststore.location": str(stores.ca_pem)}),
            "ssl.truststore.type is not set but", "is PEM: add ssl.truststore.type=PEM")
    refused(write({"ssl.truststore.location": str(stores.ca_pem),
                   "ssl.truststore.type": "PEM",
                   "ssl.truststore.password": stores.password("trust")}),
            "ssl.truststore.password is set for a PEM truststore")
    refused(write({"ssl.truststore.location": str(stores.trust_p12),
                   "ssl.truststore.type": "PEM"}), "is PEM but", "is PKCS12")


def test_inline_pem_certificates_written_on_one_continued_line(tmp_path, stores):
    lines = stores.chain_pem.read_text().splitlines()
    path = tmp_path / "client.properties"
    path.write_text("security.protocol=SSL\nssl.truststore.type=PEM\n"
                    "ssl.truststore.certificates=" + " \\\n  ".join(lines) + "\n")
    config = accepted(read_client_config(str(path)))
    assert config.props["ssl.ca.pem"] == stores.chain_pem.read_text()


def _run_advice(line: str, *passwords: str) -> None:
    """Run the keytool command quoted in `line`, answering its password prompts."""
    command = shlex.split(re.search(r"`keytool ([^`]*)`", line).group(1))
    subprocess.run([*KEYTOOL, *command], input="".join(p + "\n" for p in passwords),
                   capture_output=True, text=True, timeout=60, check=True)


def test_a_jks_truststore_gets_the_keytool_line_that_works(write, stores, tmp_path):
    jks = tmp_path / "truststore.jks"
    jks.write_bytes(stores.trust_jks.read_bytes())
    line = refused(write({"ssl.truststore.location": str(jks),
                          "ssl.truststore.password": stores.password("trust")}),
                   f"names {jks}, a JKS store, which librdkafka cannot read",
                   f"keytool -exportcert -rfc -keystore {jks} -storetype JKS -alias root-ca "
                   f"-file {tmp_path / 'truststore.pem'}",
                   f"ssl.truststore.location={tmp_path / 'truststore.pem'} with "
                   "ssl.truststore.type=PEM")
    _run_advice(line, stores.password("trust"))
    config = accepted(read_client_config(write({
        "ssl.truststore.location": str(tmp_path / "truststore.pem"),
        "ssl.truststore.type": "PEM"})))
    assert config.props["ssl.ca.location"] == str(tmp_path / "truststore.pem")


def test_a_jks_truststore_of_several_certificates_is_converted_to_pkcs12(write, stores,
                                                                         tmp_path):
    # Named .p12 and declared PKCS12: the magic bytes still say JKS.
    odd = tmp_path / "trust.p12"
    odd.write_bytes(stores.trust_two_jks.read_bytes())
    line = refused(write({"ssl.truststore.location": str(odd),
                          "ssl.truststore.type": "PKCS12",
                          "ssl.truststore.password": stores.password("trust")}),
                   "a JKS store", f"keytool -importkeystore -srckeystore {odd} -srcstoretype "
                   "JKS -destkeystore", "-deststoretype PKCS12")
    target = re.search(r"set ssl\.truststore\.location=(\S+) with", line).group(1)
    assert target != str(odd)
    pw = stores.password("trust")
    _run_advice(line, pw, pw, pw)
    config = accepted(read_client_config(write({"ssl.truststore.location": target,
                                                "ssl.truststore.password": pw})))
    assert config.props["ssl.ca.pem"].count("BEGIN CERTIFICATE") == 2


def test_jceks_and_unknown_stores(write, stores, tmp_path):
    refused(write({"ssl.truststore.location": str(stores.trust_jceks),
                   "ssl.truststore.password": stores.password("trust")}),
            "a JCEKS store", "-srcstoretype JCEKS")
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00garbage")
    refused(write({"ssl.truststore.location": str(junk)}), "neither PEM, PKCS12 nor JKS")
    refused(write({"ssl.truststore.location": str(tmp_path / "missing.p12")}),
            "does not exist", kind=NotFound)
    refused(write({"ssl.truststore.location": str(stores.trust_p12),
                   "ssl.truststore.type": "BCFKS"}), "BCFKS, which librdkafka cannot read")


def test_a_keystore_named_as_truststore(write, stores):
    refused(write({"ssl.truststore.location": str(stores.client_p12),
                   "ssl.truststore.password": stores.password("keystore")}),
            "holds a private key: a truststore holds only CA certificates")


def test_truststore_and_ca_location_together_are_refused(write, stores):
    refused(write({"ssl.ca.location": str(stores.ca_pem),
                   "ssl.truststore.location": str(stores.trust_p12),
                   "ssl.truststore.password": stores.password("trust")}),
            "ssl.truststore.location and ssl.ca.location (or ssl.ca.pem) are both set")


# -- keystores ---------------------------------------------------------------------------------

def test_a_pkcs12_keystore_becomes_key_and_chain_in_memory(write, stores):
    pw = stores.password("keystore")
    config = accepted(read_client_config(write({
        "security.protocol": "SSL", "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": str(stores.client_p12), "ssl.keystore.password": pw,
        "ssl.key.password": pw, "ssl.truststore.location": str(stores.trust_p12),
        "ssl.truststore.password": stores.password("trust")})))
    assert config.props == {"security.protocol": "SSL", "ssl.ca.pem": stores.ca_pem.read_text(),
                            "ssl.certificate.pem": stores.client_cert_pem.read_text(),
                            "ssl.key.pem": stores.client_key_pem.read_text()}
    assert config.written_as("ssl.key.pem") == "ssl.keystore.location"


def test_a_legacy_pkcs12_keystore_librdkafka_cannot_open_itself(write, stores, tmp_path):
    """RC2-40 and SHA-1, as keytool wrote PKCS12 before JDK 8u301 / 11.0.12 (and
    `openssl pkcs12 -export -legacy` still does)."""
    legacy = tmp_path / "legacy.p12"
    pw = stores.password("keystore")
    subprocess.run(["openssl", "pkcs12", "-export", "-legacy", "-inkey",
                    str(stores.client_key_pem), "-in", str(stores.client_cert_pem),
                    "-out", str(legacy), "-passout", "stdin"], input=pw + "\n", text=True,
                   capture_output=True, timeout=30, check=True)
    with pytest.raises(Exception, match="RC2-40-CBC"):
        AdminClient({"bootstrap.servers": "127.0.0.1:9", "log_level": 0,
                     "security.protocol": "SSL", "ssl.keystore.location": str(legacy),
                     "ssl.keystore.password": pw})
    config = accepted(read_client_config(write({
        "security.protocol": "SSL", "ssl.keystore.location": str(legacy),
        "ssl.keystore.password": pw})))
    assert config.props["ssl.key.pem"] == stores.client_key_pem.read_text()


@pytest.mark.parametrize("change,expected", [
    ({"ssl.keystore.password": "wrong-one"}, "cannot be opened as PKCS12 with "
                                             "ssl.keystore.password"),
    ({"ssl.keystore.password": None}, "which needs ssl.keystore.password"),
    ({"ssl.key.password": "other-one"}, "ssl.key.password differs from "
                                        "ssl.keystore.password"),
    ({"ssl.certificate.location": "/etc/c.pem"}, "and ssl.certificate.location are both set"),
])
def test_a_pkcs12_keystore_that_cannot_be_used(write, stores, change, expected):
    lines = {"ssl.keystore.location": str(stores.client_p12),
             "ssl.keystore.password": stores.password("keystore"), **change}
    CORPUS.extend(v for v in change.values() if v and "/" not in v)
    refused(write({k: v for k, v in lines.items() if v is not None}), expected)


def test_a_truststore_named_as_keystore(write, stores):
    refused(write({"ssl.keystore.location": str(stores.trust_p12),
                   "ssl.keystore.password": stores.password("trust")}),
            "holds no private key (is it the truststore?)")


@pytest.mark.parametrize("encrypted", [False, True])
def test_a_pem_keystore_becomes_certificate_and_key_locations(write, stores, encrypted):
    path = stores.client_encrypted_pem if encrypted else stores.client_combined_pem
    lines = {"security.protocol": "SSL", "ssl.keystore.type": "PEM",
             "ssl.keystore.location": str(path)}
    if encrypted:
        lines["ssl.key.password"] = stores.password("key")
    config = accepted(read_client_config(write(lines)))
    assert config.props["ssl.certificate.location"] == str(path)
    assert config.props["ssl.key.location"] == str(path)
    assert "ssl.keystore.location" not in config.props


@pytest.mark.parametrize("case,expected", [
    ("no key password", "is encrypted and needs ssl.key.password"),
    ("wrong key password", "ssl.key.password does not decrypt the private key"),
    ("store password", "ssl.keystore.password is set for a PEM keystore"),
    ("certificate only", "holds no PEM private key"),
    ("key of another", "is not the private key's own"),
])
def test_a_pem_keystore_that_cannot_be_used(write, stores, tmp_path, case, expected):
    path = stores.client_encrypted_pem
    lines = {"ssl.keystore.type": "PEM", "ssl.keystore.location": str(path)}
    if case == "wrong key password":
        lines["ssl.key.password"] = stores.password("trust")
    elif case == "store password":
        lines["ssl.keystore.password"] = stores.password("keystore")
    elif case == "certificate only":
        lines["ssl.keystore.location"] = str(stores.client_cert_pem)
    elif case == "key of another":
        mixed = tmp_path / "mixed.pem"
        mixed.write_bytes(stores.other_key_pem.read_bytes()
                          + stores.client_cert_pem.read_bytes())
        lines["ssl.keystore.location"] = str(mixed)
    refused(write(lines), expected)


def test_an_inline_pem_keystore(tmp_path, stores):
    def one_line(path: Path) -> str:
        return " \\\n  ".join(path.read_text().splitlines())

    path = tmp_path / "client.properties"
    path.write_text("security.protocol=SSL\nssl.keystore.type=PEM\n"
                    f"ssl.keystore.certificate.chain={one_line(stores.client_cert_pem)}\n"
                    f"ssl.keystore.key={one_line(stores.client_key_pem)}\n")
    config = accepted(read_client_config(str(path)))
    assert config.props["ssl.certificate.pem"] == stores.client_cert_pem.read_text()
    assert config.props["ssl.key.pem"] == stores.client_key_pem.read_text()


def test_a_jks_keystore_gets_the_keytool_line_that_works(write, stores, tmp_path):
    jks = tmp_path / "client.jks"
    jks.write_bytes(stores.client_jks.read_bytes())
    pw = stores.password("jks")
    line = refused(write({"ssl.keystore.location": str(jks), "ssl.keystore.password": pw,
                          "ssl.key.password": pw}),
                   f"keytool -importkeystore -srckeystore {jks} -srcstoretype JKS "
                   f"-destkeystore {tmp_path / 'client.p12'} -deststoretype PKCS12",
                   f"set ssl.keystore.location={tmp_path / 'client.p12'} with "
                   "ssl.keystore.type=PKCS12")
    _run_advice(line, pw, pw, pw)
    config = accepted(read_client_config(write({
        "ssl.keystore.location": str(tmp_path / "client.p12"),
        "ssl.keystore.type": "PKCS12", "ssl.keystore.password": pw})))
    assert config.props["ssl.certificate.pem"] == stores.client_cert_pem.read_text()


# -- the rest ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [("", "none"), ("https", "https"),
                                            ("HTTPS", "HTTPS"), ("none", "none")])
def test_host_name_verification(write, value, expected):
    config = accepted(read_client_config(write({
        "security.protocol": "SSL", "ssl.endpoint.identification.algorithm": value})))
    assert config.props["ssl.endpoint.identification.algorithm"] == expected
    assert len(config.hints) == (1 if value == "" else 0)


def test_an_unknown_host_name_check_is_refused(write):
    refused(write({"ssl.endpoint.identification.algorithm": "ldaps"}),
            "must be https (check the broker's host name), or empty or none")


def test_java_tuning_is_dropped_with_one_hint_each(write):
    config = accepted(read_client_config(write({
        "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
        "sasl.jaas.config": jaas(PLAIN, username="u", password=SASL_PASSWORD),
        "ssl.enabled.protocols": "TLSv1.3", "buffer.memory": "33554432",
        "key.serializer": "org.apache.kafka.common.serialization.StringSerializer",
        "sasl.login.refresh.window.factor": "0.8", "request.timeout.ms": "30000"})))
    assert config.props["request.timeout.ms"] == "30000"  # librdkafka knows this one
    assert [h.split(": ", 1)[1].split(" ")[0] for h in config.hints] == [
        "ssl.enabled.protocols", "buffer.memory", "key.serializer",
        "sasl.login.refresh.window.factor"]
    assert all("is a Java client property, ignored:" in h for h in config.hints)


def test_config_providers_are_refused(write):
    refused(write({"config.providers": "file",
                   "config.providers.file.class":
                       "org.apache.kafka.common.config.provider.FileConfigProvider",
                   "sasl.jaas.config": "${file:/etc/kafka/secrets.properties:jaas}"}),
            "config.providers is set: ps-console does not resolve Java config providers")


def test_the_location_carries_the_translation_and_hides_the_secrets(write, stores):
    path = write({"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
                  "sasl.jaas.config": jaas(SCRAM, username="ops", password=SASL_PASSWORD),
                  "ssl.truststore.location": str(stores.trust_p12),
                  "ssl.truststore.password": stores.password("trust"),
                  "ssl.keystore.location": str(stores.client_p12),
                  "ssl.keystore.password": stores.password("keystore")})
    location = locate(ClusterOptions(bootstrap="127.0.0.1:9093", command_config=path))
    assert location.security_protocol == "SASL_SSL"
    assert location.client.props["sasl.password"] == SASL_PASSWORD
    for text in (repr(location), str(location), repr(location.client)):
        for secret in CORPUS:
            assert secret not in text


def test_files_are_read_bounded(tmp_path, stores):
    big = tmp_path / "client.properties"
    big.write_text("# padding\n" * 200_000)
    with pytest.raises(UsageError, match=r"^command config .* is larger than 1 MiB"):
        read_client_config(str(big))
    store = tmp_path / "huge.pem"
    store.write_bytes(b"-----BEGIN CERTIFICATE-----\n" + b"A" * (5 << 20))
    path = tmp_path / "c.properties"
    path.write_text(f"ssl.truststore.type=PEM\nssl.truststore.location={store}\n")
    refused(str(path), "is larger than 4 MiB")


def test_stores_are_not_read_without_tls(write, tmp_path):
    config = accepted(read_client_config(write({
        "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
        "sasl.jaas.config": jaas(PLAIN, username="u", password=SASL_PASSWORD),
        "ssl.truststore.location": str(tmp_path / "no-such.jks"),
        "ssl.truststore.password": SASL_PASSWORD})))
    assert not any(k.startswith("ssl.") for k in config.props)
    assert [h.split(": ", 1)[1] for h in config.hints] == [
        f"{k} is not used: security.protocol is SASL_PLAINTEXT, without TLS"
        for k in ("ssl.truststore.location", "ssl.truststore.password")]


def test_a_kraft_brokers_listener_gives_the_protocol_and_the_java_file_the_login(write):
    from engine.config.broker import BrokerConfig

    broker = BrokerConfig.from_properties("/etc/kafka/server.properties", {
        "process.roles": "broker,controller", "node.id": "1",
        "listeners": "CLIENT://127.0.0.1:9094,CONTROLLER://127.0.0.1:9093",
        "listener.security.protocol.map": "CLIENT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER"})
    path = write({"sasl.mechanism": "SCRAM-SHA-512",
                  "sasl.jaas.config": jaas(SCRAM, username="ops", password=SASL_PASSWORD)})
    location = locate(ClusterOptions(command_config=path), broker)
    assert location.bootstrap == (("127.0.0.1", 9094),)
    assert location.client.props == {"sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "ops",
                                     "sasl.password": SASL_PASSWORD,
                                     "security.protocol": "SASL_PLAINTEXT"}
    assert location.client.written_as("sasl.password") == "sasl.jaas.config"
