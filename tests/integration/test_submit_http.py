"""The HTTP submitter against real local servers: an HTTPS receiver with a test CA and a
plain HTTP one, both on 127.0.0.1."""

from __future__ import annotations

import select
import socket
import socketserver
import threading
import time

import pytest
import trustme

from engine.errors import ValidationError
from engine.reporting.receiver import Receiver
from engine.reporting.records import decode, encode
from engine.reporting.submit_http import HttpSettings, submit_http
from tests.support.cp_records import container

TIMEOUT = 0.5  # the submitter's timeout in these tests; 2 s in production


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_files(ca, tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path, ca_path = d / "cert.pem", d / "key.pem", d / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(cert_path), append=True)
    cert.private_key_pem.write_to_path(str(key_path))
    ca.cert_pem.write_to_path(str(ca_path))
    return str(cert_path), str(key_path), str(ca_path)


@pytest.fixture
def https(tls_files):
    with Receiver(tls=tls_files[:2]) as server:
        yield server


@pytest.fixture
def http():
    with Receiver() as server:
        yield server


@pytest.fixture
def report() -> bytes:
    return encode({"timestamp": 1_700_000_000, "kafkaVersion": "3.9.0",
                   "confluentPlatformVersion": None, "collectorState": 2,
                   "brokerProcessUUID": "7d0e7f0c-1f7b-4f0e-8d63-0c1b2a3d4e5f",
                   "clusterId": "abc"}, "basic")


def _settings(https: Receiver, http: Receiver, ca_path: str, **kw) -> HttpSettings:
    base = dict(secure_url=https.url, insecure_url=http.url, verify=ca_path, timeout=TIMEOUT)
    base.update(kw)
    return HttpSettings(**base)


@pytest.mark.parametrize("cid, path", [
    ("anonymous", "/anon"), ("ANONYMOUS", "/anon"), ("c0", "/test"),
    ("c12345", "/submit"), ("C999", "/submit")])
def test_https_delivers_the_exact_form(https, http, tls_files, report, cid, path):
    results = submit_http(report, cid, _settings(https, http, tls_files[2]))
    assert [(r.destination, r.ok) for r in results] == [("https", True)]
    assert "200" in results[0].detail
    [got] = https.received
    assert got.path == path
    assert got.cid == cid
    assert got.filename == "filename"
    assert got.content_type == "application/octet-stream"
    assert got.body == report
    assert decode(got.body).record["clusterId"] == "abc"
    assert http.received == []


def test_invalid_customer_id_reports_as_anonymous(https, http, tls_files, report):
    submit_http(report, "customer-42", _settings(https, http, tls_files[2]))
    [got] = https.received
    assert (got.path, got.cid) == ("/anon", "anonymous")


def test_binary_bytes_survive_byte_for_byte(https, http, tls_files):
    # every byte value, CRLFs and something that looks like a delimiter, inside a report
    # (the receiver takes nothing else)
    raw = bytes(range(256)) * 4 + b"\r\n--\r\n\r\n--boundary\r\n" + b"\x00" * 10
    value = container({"type": "record", "name": "Bin",
                       "fields": [{"name": "b", "type": "bytes"}]}, [{"b": raw}])
    assert raw in value
    submit_http(value, "c0", _settings(https, http, tls_files[2]))
    assert https.received[0].body == value


def test_https_500_falls_back_to_http(https, http, tls_files, report):
    https.status = 500
    results = submit_http(report, "c7", _settings(https, http, tls_files[2]))
    assert [(r.destination, r.ok) for r in results] == [("https", False), ("http", True)]
    assert "HTTP 500" in results[0].detail
    assert len(https.received) == 1
    [got] = http.received
    assert (got.path, got.cid, got.body) == ("/submit", "c7", report)


def test_https_timeout_falls_back_to_http(https, http, tls_files, report):
    https.delay = TIMEOUT * 4
    started = time.monotonic()
    results = submit_http(report, "anonymous", _settings(https, http, tls_files[2]))
    elapsed = time.monotonic() - started
    assert [(r.destination, r.ok) for r in results] == [("https", False), ("http", True)]
    assert "timed out" in results[0].detail
    assert elapsed < TIMEOUT * 3  # gave up on HTTPS at its timeout, not the server's delay
    assert http.received[0].body == report


def test_untrusted_certificate_falls_back_to_http(https, http, report, tmp_path):
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    results = submit_http(report, "anonymous", _settings(https, http, str(other_ca)))
    assert [(r.destination, r.ok) for r in results] == [("https", False), ("http", True)]
    assert "CERTIFICATE_VERIFY_FAILED" in results[0].detail
    assert https.received == []  # the handshake failed before any request
    assert http.received[0].body == report


@pytest.mark.parametrize("fault", ["status", "timeout", "untrusted"])
def test_secure_only_never_sends_in_clear_text(https, http, tls_files, report, tmp_path,
                                               fault):
    ca_path = tls_files[2]
    if fault == "status":
        https.status = 503
    elif fault == "timeout":
        https.delay = TIMEOUT * 4
    else:
        ca_path = str(tmp_path / "other.pem")
        trustme.CA().cert_pem.write_to_path(ca_path)
    results = submit_http(report, "c0",
                          _settings(https, http, ca_path, insecure_enabled=False))
    assert [(r.destination, r.ok) for r in results] == [("https", False)]
    assert http.received == []


def test_secure_disabled_sends_over_http_only(https, http, tls_files, report):
    results = submit_http(report, "c0", _settings(https, http, tls_files[2],
                                                  secure_enabled=False))
    assert [(r.destination, r.ok) for r in results] == [("http", True)]
    assert https.received == []
    assert http.received[0].path == "/test"


def test_both_disabled_sends_nothing(https, http, tls_files, report):
    results = submit_http(report, "c0", _settings(https, http, tls_files[2],
                                                  secure_enabled=False,
                                                  insecure_enabled=False))
    assert results == []
    assert https.received == [] and http.received == []


def test_non_200_success_codes_are_failures(https, http, tls_files, report):
    https.status = 204
    http.status = 302
    results = submit_http(report, "c0", _settings(https, http, tls_files[2]))
    assert [(r.destination, r.ok, r.detail.split(" from")[0]) for r in results] == [
        ("https", False, "HTTP 204"), ("http", False, "HTTP 302")]


def test_nothing_listening_is_a_failure_not_an_exception(tls_files, report):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = HttpSettings(secure_url=f"https://127.0.0.1:{port}",
                            insecure_url=f"http://127.0.0.1:{port}",
                            verify=tls_files[2], timeout=TIMEOUT)
    results = submit_http(report, "c0", settings)
    assert [(r.destination, r.ok) for r in results] == [("https", False), ("http", False)]
    assert all("ConnectError" in r.detail for r in results)


def test_from_properties_reads_the_spec_keys(https, http, tls_files, report):
    props = {"confluent.support.metrics.endpoint.secure": https.url + "/",
             "confluent.support.metrics.endpoint.insecure": http.url,
             "confluent.support.metrics.endpoint.insecure.enable": "FALSE"}
    settings = HttpSettings.from_properties(props, timeout=TIMEOUT, verify=tls_files[2])
    assert (settings.secure_enabled, settings.insecure_enabled, settings.proxy) == (
        True, False, None)
    https.status = 500
    submit_http(report, "anonymous", settings)
    assert https.received[0].path == "/anon"  # trailing slash of the base URL handled
    assert http.received == []


def test_from_properties_defaults_and_refusals():
    s = HttpSettings.from_properties({})
    assert s.secure_url == "https://support-metrics.confluent.io"
    assert s.insecure_url == "http://support-metrics.confluent.io"
    assert s.secure_enabled and s.insecure_enabled and s.timeout == 2.0 and s.proxy is None
    with pytest.raises(ValidationError, match="insecure.enable"):
        HttpSettings.from_properties(
            {"confluent.support.metrics.endpoint.insecure.enable": "flase"})
    with pytest.raises(ValidationError) as info:
        HttpSettings.from_properties({"confluent.support.proxy": "http://bob:s3cret@p:3128"})
    assert "s3cret" not in str(info.value)


# --------------------------------------------------------------- a tiny forward proxy

class _Proxy(socketserver.ThreadingTCPServer):
    """A real forward proxy: CONNECT tunnels for HTTPS, absolute-form requests for HTTP."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(socketserver.StreamRequestHandler):
    timeout = 5

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = self.connection.recv(4096)
            if not chunk:
                return
            head += chunk
        first = head.split(b"\r\n", 1)[0].decode()
        self.server.requests.append(first)
        method, target, _ = first.split(" ", 2)
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)), timeout=5)
            self.connection.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            rest = head.split(b"\r\n\r\n", 1)[1]
            if rest:
                upstream.sendall(rest)
        else:
            # absolute-form: http://host:port/path -> forward as origin-form
            hostport, path = target.split("://", 1)[1].split("/", 1)
            host, port = hostport.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)), timeout=5)
            upstream.sendall(head.replace(target.encode(), b"/" + path.encode(), 1))
        self._pump(upstream)

    def _pump(self, upstream: socket.socket) -> None:
        socks = [self.connection, upstream]
        deadline = time.monotonic() + 10
        with upstream:
            while time.monotonic() < deadline:
                ready, _, _ = select.select(socks, [], [], 0.2)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (upstream if s is self.connection else self.connection).sendall(data)


@pytest.fixture
def proxy():
    server = _Proxy()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_reports_go_through_the_configured_proxy(https, http, tls_files, report, proxy):
    settings = _settings(https, http, tls_files[2], proxy=proxy.url)
    https.status = 500  # so both the CONNECT tunnel and the plain forward are used
    results = submit_http(report, "c0", settings)
    assert [(r.destination, r.ok) for r in results] == [("https", False), ("http", True)]
    assert proxy.requests == [f"CONNECT 127.0.0.1:{https.port} HTTP/1.1",
                              f"POST {http.url}/test HTTP/1.1"]
    assert https.received[0].body == report and http.received[0].body == report


def test_proxy_failure_detail_hides_credentials(https, http, tls_files, report):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    secret_proxy = f"http://bob:s3cret@127.0.0.1:{port}"
    results = submit_http(report, "c0", _settings(https, http, tls_files[2],
                                                  proxy=secret_proxy))
    assert len(results) == 2 and not any(r.ok for r in results)
    assert all("s3cret" not in r.detail and "bob" not in r.detail for r in results)
