"""ZooKeeper over TLS: Kafka's zookeeper.ssl.* settings read from a broker's file or a
--zookeeper-auth file, turned into kazoo's options; what wins when a broker file meets an
explicit --zookeeper. Real stores (tests/support/stores.py); no ZooKeeper needed here (the
integration tests talk to the secured sandbox's)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from engine.cluster.keystores import StoreError
from engine.cluster.location import ClusterOptions, locate
from engine.cluster.zk_auth import read_zk_auth, read_zookeeper_file
from engine.cluster.zk_tls import NETTY_SOCKET, ZkTls, zk_tls_from_properties
from engine.config.broker import BrokerConfig
from engine.errors import NotFound, UsageError
from tests.support.stores import Stores, make_stores

ON = {"zookeeper.ssl.client.enable": "true", "zookeeper.clientCnxnSocket": NETTY_SOCKET}


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Stores:
    return make_stores(tmp_path_factory.mktemp("zk-stores"))


def _p12(s: Stores) -> dict[str, str]:
    return {**ON, "zookeeper.ssl.truststore.location": str(s.trust_p12),
            "zookeeper.ssl.truststore.password": s.password("trust"),
            "zookeeper.ssl.keystore.location": str(s.client_p12),
            "zookeeper.ssl.keystore.password": s.password("keystore")}


def _context(tls: ZkTls) -> ssl.SSLContext:
    """What kazoo builds from the options (the files must open, the key must fit)."""
    from engine.cluster.zk_tls import _context as kazoo_like

    with tls.kazoo_options() as options:
        assert options["use_ssl"] is True and options["verify_certs"] is True
        return kazoo_like(options)


@pytest.mark.parametrize("value", [None, "", "false", "FALSE "])
def test_tls_off_unless_enabled(value: str | None, stores: Stores) -> None:
    props = {k: v for k, v in _p12(stores).items() if k != "zookeeper.ssl.client.enable"}
    if value is not None:
        props["zookeeper.ssl.client.enable"] = value
    # The stores are not even read without TLS (Java ignores them too).
    props["zookeeper.ssl.keystore.location"] = "/nonexistent/keystore.p12"
    assert zk_tls_from_properties(props, "server.properties") is None


def test_pkcs12_stores_reach_kazoo_through_memory_files(stores: Stores) -> None:
    tls = zk_tls_from_properties(_p12(stores), "server.properties")
    assert tls is not None and tls.client_certificate and tls.check_hostname
    assert tls.ca is None and tls.ca_pem and tls.key_and_chain_pem
    with tls.kazoo_options() as options:
        ca, cert = options["ca"], options["certfile"]
        assert ca.startswith("/proc/self/fd/") and cert == options["keyfile"]
        assert Path(ca).read_text() == tls.ca_pem
        _ = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(cert)
    assert not Path(ca).exists()  # closed with the context
    _context(tls)
    for secret in (stores.password("trust"), stores.password("keystore")):
        assert secret not in repr(tls)
    assert "PRIVATE KEY" not in repr(tls)


def test_pem_stores_by_path_and_the_keystore_password_decrypts_the_key(stores: Stores) -> None:
    props = {**ON, "zookeeper.ssl.truststore.location": str(stores.ca_pem),
             "zookeeper.ssl.truststore.type": "PEM",
             "zookeeper.ssl.keystore.location": str(stores.client_encrypted_pem),
             "zookeeper.ssl.keystore.type": "PEM",
             "zookeeper.ssl.keystore.password": stores.password("key")}
    tls = zk_tls_from_properties(props, "f")
    assert tls is not None and tls.ca == str(stores.ca_pem)
    assert tls.certfile == str(stores.client_encrypted_pem)
    _context(tls)
    props["zookeeper.ssl.keystore.password"] = "not-the-password"
    with pytest.raises(StoreError, match="zookeeper.ssl.keystore.password does not decrypt"):
        zk_tls_from_properties(props, "f")


def test_no_truststore_means_the_system_cas_and_no_keystore_no_certificate() -> None:
    tls = zk_tls_from_properties(dict(ON), "f")
    assert tls is not None and not tls.client_certificate
    with tls.kazoo_options() as options:
        assert options["ca"] is None and options["certfile"] is None


@pytest.mark.parametrize("value, check", [(None, True), ("HTTPS", True), ("https", True),
                                          ("", False), (" ", False)])
def test_host_name_check_unless_explicitly_empty(value: str | None, check: bool) -> None:
    props = dict(ON)
    if value is not None:
        props["zookeeper.ssl.endpoint.identification.algorithm"] = value
    tls = zk_tls_from_properties(props, "f")
    assert tls is not None and tls.check_hostname is check


@pytest.mark.parametrize("extra, message", [
    ({"zookeeper.ssl.client.enable": "yes"}, "must be true or false"),
    ({"zookeeper.clientCnxnSocket": "org.apache.zookeeper.ClientCnxnSocketNIO"},
     "cannot speak TLS"),
    ({"zookeeper.ssl.crl.enable": "true"}, "revocation cannot be checked"),
    ({"zookeeper.ssl.ocsp.enable": "TRUE"}, "revocation cannot be checked"),
    ({"zookeeper.ssl.endpoint.identification.algorithm": "ldaps"}, "must be HTTPS"),
    ({"zookeeper.ssl.truststore.type": "BCFKS",
      "zookeeper.ssl.truststore.location": "{ca}"}, "use PKCS12 or PEM"),
    ({"zookeeper.ssl.truststore.type": "PKCS12",
      "zookeeper.ssl.truststore.location": "{ca}"}, "is PEM: set zookeeper.ssl.truststore"),
    ({"zookeeper.ssl.truststore.location": "{p12}"}, "is PKCS12 and needs zookeeper.ssl"),
    ({"zookeeper.ssl.keystore.location": "{other}"}, "holds no PEM certificate"),
])
def test_what_cannot_be_used_is_one_line(stores: Stores, extra: dict[str, str],
                                         message: str) -> None:
    paths = {"{ca}": str(stores.ca_pem), "{p12}": str(stores.trust_p12),
             "{other}": str(stores.other_key_pem)}
    props = {**ON, **{k: paths.get(v, v) for k, v in extra.items()}}
    with pytest.raises(UsageError) as err:
        zk_tls_from_properties(props, "server.properties")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_missing_store_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        zk_tls_from_properties({**ON, "zookeeper.ssl.truststore.location":
                                str(tmp_path / "gone.p12")}, "f")


def test_jks_is_refused_with_the_keytool_line_in_zookeeper_names(stores: Stores) -> None:
    for key, store, role in (("truststore", stores.trust_jks, "-exportcert"),
                             ("keystore", stores.client_jks, "-importkeystore")):
        with pytest.raises(StoreError) as err:
            zk_tls_from_properties({**ON, f"zookeeper.ssl.{key}.location": str(store),
                                    f"zookeeper.ssl.{key}.password": stores.password("jks")},
                                   "server.properties")
        text = str(err.value)
        assert text.startswith("server.properties: ") and role in text
        assert f"set zookeeper.ssl.{key}.location=" in text
        assert stores.password("jks") not in text


def test_the_auth_file_takes_tls_with_or_without_a_login(stores: Stores, tmp_path: Path
                                                        ) -> None:
    both = tmp_path / "both.properties"
    both.write_text("".join(f"{k}={v}\n" for k, v in {
        **_p12(stores), "zookeeper.auth.username": "kafka",
        "zookeeper.auth.password": "zk-pw"}.items()))
    found = read_zookeeper_file(str(both))
    assert found.auth is not None and found.tls is not None and found.tls_given
    assert read_zk_auth(str(both)).username == "kafka"
    tls_only = tmp_path / "tls.properties"
    tls_only.write_text("".join(f"{k}={v}\n" for k, v in _p12(stores).items()))
    found = read_zookeeper_file(str(tls_only))
    assert found.auth is None and found.tls is not None
    with pytest.raises(UsageError, match="zookeeper.auth.password missing"):
        read_zk_auth(str(tls_only))
    off = tmp_path / "off.properties"
    off.write_text("zookeeper.ssl.client.enable=false\n")
    found = read_zookeeper_file(str(off))
    assert (found.auth, found.tls, found.tls_given) == (None, None, True)
    bad = tmp_path / "bad.properties"
    bad.write_text("zookeeper.ssl.keyStore.location=/x\n")  # ZooKeeper's own spelling
    with pytest.raises(UsageError, match="unknown key.*zookeeper.ssl.keyStore.location"):
        read_zookeeper_file(str(bad))


def _broker(tmp_path: Path, stores: Stores) -> BrokerConfig:
    props = {"broker.id": "1", "zookeeper.connect": "127.0.0.1:2182/kafka", **_p12(stores)}
    return BrokerConfig.from_properties(tmp_path / "server.properties", props)


def test_the_broker_files_tls_goes_with_its_own_zookeeper_connect(stores: Stores,
                                                                  tmp_path: Path) -> None:
    broker = _broker(tmp_path, stores)
    own = locate(ClusterOptions(), broker)
    assert str(own.zookeeper) == "127.0.0.1:2182/kafka" and own.zk_tls is not None
    assert own.zk_tls.source == str(broker.path)
    # An explicit --zookeeper names another address: the broker's TLS is not carried over.
    explicit = locate(ClusterOptions(zookeeper="127.0.0.1:2181/kafka"), broker)
    assert explicit.zk_tls is None
    # A --zookeeper-auth file with TLS keys decides, for either address.
    off = tmp_path / "off.properties"
    off.write_text("zookeeper.ssl.client.enable=false\nzookeeper.auth.username=k\n"
                   "zookeeper.auth.password=p\n")
    decided = locate(ClusterOptions(zookeeper_auth=str(off)), broker)
    assert decided.zk_tls is None and decided.zk_auth is not None
    login_only = tmp_path / "login.properties"
    login_only.write_text("zookeeper.auth.username=k\nzookeeper.auth.password=p\n")
    kept = locate(ClusterOptions(zookeeper_auth=str(login_only)), broker)
    assert kept.zk_tls is not None and kept.zk_auth is not None
    tls_file = tmp_path / "tls.properties"
    tls_file.write_text("".join(f"{k}={v}\n" for k, v in _p12(stores).items()))
    explicit_tls = locate(ClusterOptions(zookeeper="127.0.0.1:2182/kafka",
                                         zookeeper_auth=str(tls_file)), broker)
    assert explicit_tls.zk_tls is not None and explicit_tls.zk_tls.source.endswith(
        "tls.properties")
    # No ZooKeeper at all: no TLS settings for it either.
    assert locate(ClusterOptions(bootstrap="127.0.0.1:9092",
                                 zookeeper_auth=str(tls_file))).zk_tls is None
