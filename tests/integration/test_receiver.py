"""The local receiver and `ps-console receive`, exercised over real sockets on 127.0.0.1.

Each limit of issue 19 has a test here that a receiver without it fails: bounded bodies,
a connection cap, header and body deadlines, 200 only once stored, nothing stored for a
refused request, safe names, and authentication by bearer token and client certificate.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import trustme

from engine.reporting.receiver import MAX_BODY_BYTES, Receiver, ReceiverLimits
from engine.reporting.submit_http import HttpSettings, submit_http
from tests.support.cp_records import GARBAGE, container, cp30_basic, cp31_enhanced
from tools.receive_load import start_receive

REPO = Path(__file__).resolve().parents[2]
TOKEN = "s3cret-token-0123456789abcdef"


def _http_only(url: str, **kw) -> HttpSettings:
    return HttpSettings(secure_enabled=False, insecure_url=url, timeout=2.0, **kw)


def _files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.exists() else []


def _raw(port: int, data: bytes, wait: float = 3.0, first_only: bool = False) -> bytes:
    """Send raw bytes, return what the server answered before closing (bounded), or
    only its first chunk."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(data)
        out = b""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(4096)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
            if first_only:
                break
        return out


def _trust(tls: dict[str, str], cert: str | None = None) -> ssl.SSLContext:
    """A client TLS context trusting the test CA, presenting `cert` (PEM with its key)."""
    context = ssl.create_default_context(cafile=tls["ca"])
    if cert is not None:
        context.load_cert_chain(cert)
    return context


def _big_report(size: int) -> bytes:
    """A valid one-record Avro container of about `size` bytes."""
    schema = {"type": "record", "name": "Big", "fields": [{"name": "blob", "type": "string"}]}
    return container(schema, [{"blob": "x" * size}])


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """Server cert+key, the CA, and a client cert+key signed by the same CA."""
    ca = trustme.CA()
    d = tmp_path_factory.mktemp("receiver-tls")
    server = ca.issue_cert("127.0.0.1")
    server.private_key_and_cert_chain_pem.write_to_path(str(d / "server.pem"))
    client = ca.issue_cert("agent-1.example")
    client.private_key_and_cert_chain_pem.write_to_path(str(d / "client.pem"))
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    other = trustme.CA().issue_cert("intruder.example")
    other.private_key_and_cert_chain_pem.write_to_path(str(d / "other.pem"))
    token = d / "token"
    token.write_text(TOKEN + "\n")
    return {"server": str(d / "server.pem"), "ca": str(d / "ca.pem"),
            "client": str(d / "client.pem"), "other": str(d / "other.pem"),
            "token": str(token)}


# ------------------------------------------------------------------ storing

def test_store_dir_keeps_each_report_durably(tmp_path):
    store = tmp_path / "reports"
    with Receiver(store_dir=str(store)) as server:
        values = [cp30_basic(), cp31_enhanced(broker_id=3), cp30_basic(token="t2")]
        for value in values:
            assert submit_http(value, "c0", _http_only(server.url))[0].ok
        assert [r.body for r in server.received] == values
        assert [r.status for r in server.received] == [200] * 3
    files = _files(store)
    assert all(f.name.startswith("report-") and f.name.endswith("-test.avro") for f in files)
    assert [f.read_bytes() for f in files] == values  # names sort in arrival order
    assert not [f for f in store.iterdir() if f.name.startswith(".incoming-")]


def test_a_report_that_cannot_be_stored_is_answered_5xx_and_kept_by_the_sender(tmp_path):
    store = tmp_path / "reports"
    with Receiver(store_dir=str(store)) as server:
        shutil.rmtree(store)  # the disk went away under the receiver
        (result,) = submit_http(cp30_basic(), "anonymous", _http_only(server.url))
        assert not result.ok and "HTTP 503" in result.detail
        assert server.received[-1].stored is None and server.received[-1].status == 503
        store.mkdir()
        assert submit_http(cp30_basic(), "anonymous", _http_only(server.url))[0].ok
    assert len(_files(store)) == 1


@pytest.mark.parametrize("request_kw, status", [
    ({"url": "/elsewhere", "files": {"file": ("filename", cp30_basic())}}, 404),
    ({"url": "/anon/../../etc", "files": {"file": ("filename", cp30_basic())}}, 404),
    ({"url": "/anon", "data": {"cid": "c0"}}, 400),  # no file part (urlencoded)
    ({"url": "/anon", "data": {"cid": "c0"}, "files": {"other": ("f", cp30_basic())}}, 400),
    ({"url": "/anon", "files": {"file": ("filename", GARBAGE)}}, 400),
    ({"url": "/anon", "files": {"file": ("filename", b"\x00" * 3)}}, 400),
    ({"url": "/anon", "files": {"file": ("filename", b"")}}, 400),
    ({"url": "/anon", "content": b"plain", "headers": {"Content-Type": "text/plain"}}, 400),
    ({"url": "/anon", "content": b"--x\r\n",
      "headers": {"Content-Type": "multipart/form-data; boundary=x"}}, 400),
], ids=["unknown-path", "dotted-path", "no-file-part", "other-part", "garbage", "nuls",
        "empty", "not-multipart", "truncated-form"])
def test_refused_requests_are_not_stored(tmp_path, request_kw, status):
    store = tmp_path / "reports"
    with Receiver(store_dir=str(store)) as server, httpx.Client(timeout=3) as client:
        kw = dict(request_kw)
        r = client.post(server.url + kw.pop("url"), **kw)
        assert r.status_code == status, r.text
        assert server.received == []
        assert server.stats()["refused"] == {status: 1}
    assert _files(store) == []


def test_other_methods_are_refused(tmp_path):
    with Receiver(store_dir=str(tmp_path)) as server, httpx.Client(timeout=3) as client:
        r = client.get(server.url + "/anon")
        assert r.status_code == 405 and r.headers["Allow"] == "POST"
        assert client.put(server.url + "/submit", content=cp30_basic()).status_code == 405
    assert _files(tmp_path) == []


@pytest.mark.parametrize("target", [b"/an\x00on", b"/anon\x00", b"/an\x01on", b"/\x1b[2J",
                                    b"/anon%00", b"/anon%0d%0aX:%20y", b"/test\x7f",
                                    b"/\xc3\xa9"])
def test_control_characters_in_the_path_get_a_4xx_and_leave_no_file(tmp_path, target):
    value = cp30_basic()
    body = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"filename\"\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n" + value + b"\r\n--b--\r\n")
    request = (b"POST " + target + b" HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: multipart/form-data; boundary=b\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    with Receiver(store_dir=str(tmp_path)) as server:
        answer = _raw(server.port, request)
        assert answer[:12] in (b"HTTP/1.1 400", b"HTTP/1.0 400", b"HTTP/1.1 404"), answer
        assert server.received == []
    assert os.listdir(tmp_path) == []  # neither a report nor a temporary file


# ------------------------------------------------------------------ bounds

def test_a_body_over_1_mib_is_refused_before_it_is_sent(tmp_path):
    with Receiver(store_dir=str(tmp_path)) as server:
        # Only the headers: a receiver that waits for the body never answers.
        head = (b"POST /anon HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
                b"boundary=b\r\nContent-Length: " + str(MAX_BODY_BYTES + 1).encode()
                + b"\r\n\r\n")
        started = time.monotonic()
        answer = _raw(server.port, head, wait=3, first_only=True)
        assert answer.startswith(b"HTTP/1.1 413"), answer
        assert time.monotonic() - started < 2
        # A real client sending it all gets the 413 too, and nothing is kept.
        r = httpx.post(server.url + "/anon", timeout=5,
                       files={"file": ("filename", _big_report(MAX_BODY_BYTES + 10))})
        assert r.status_code == 413
        # Just under the limit is a report like any other.
        assert httpx.post(server.url + "/anon", timeout=5, files={
            "file": ("filename", _big_report(MAX_BODY_BYTES - 4096))}).status_code == 200
    assert len(_files(tmp_path)) == 1


def test_chunked_bodies_without_a_length_are_refused():
    with Receiver() as server:
        def chunks():
            yield b"--b\r\n"
            yield b"x" * 100

        r = httpx.post(server.url + "/anon", content=chunks(), timeout=5,
                       headers={"Content-Type": "multipart/form-data; boundary=b"})
        assert r.status_code == 411


def test_only_the_last_bodies_are_kept_in_memory():
    with Receiver(keep_records=5, keep_bodies=2) as server:
        values = [cp30_basic(token=f"t{i}") for i in range(7)]
        for value in values:
            assert submit_http(value, "anonymous", _http_only(server.url))[0].ok
        got = server.received
        assert [r.seq for r in got] == [3, 4, 5, 6, 7]
        assert [r.body for r in got] == [None, None, None, values[5], values[6]]
        assert [r.size for r in got] == [len(v) for v in values[2:]]
        assert server.count == 7


def test_a_connection_trickling_header_bytes_is_cut_off_within_seconds():
    with Receiver() as server:  # the default limits
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", server.port), timeout=1) as s:
            s.sendall(b"POST /anon HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            closed_after = None
            while time.monotonic() - started < 15:
                try:
                    if s.recv(1024) == b"":
                        closed_after = time.monotonic() - started
                        break
                except TimeoutError:
                    pass
                try:
                    s.sendall(b"a")
                except OSError:
                    closed_after = time.monotonic() - started
                    break
        assert closed_after is not None, "still open after 15 s"
        assert closed_after < ReceiverLimits().header_timeout + 2
        assert server.stats()["cut_off"] == 1


def test_a_body_that_trickles_gets_408():
    limits = ReceiverLimits(body_timeout=1.0)
    with Receiver(limits=limits) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            s.sendall(b"POST /anon HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
                      b"boundary=b\r\nContent-Length: 5000\r\n\r\n--b\r\n")
            started = time.monotonic()
            answer = b""
            while time.monotonic() - started < 6 and not answer:
                try:
                    s.sendall(b"x")
                    s.settimeout(0.3)
                    answer = s.recv(200)
                except TimeoutError:
                    continue
                except OSError:
                    break
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert time.monotonic() - started < 1.0 + 2


def test_connections_over_the_cap_get_503_until_a_slot_frees():
    limits = ReceiverLimits(max_connections=4, header_timeout=1.5)
    with Receiver(limits=limits) as server:
        idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(4)]
        try:
            time.sleep(0.2)
            (busy,) = submit_http(cp30_basic(), "anonymous", _http_only(server.url))
            assert not busy.ok and "HTTP 503" in busy.detail
            # The idle ones reach their header deadline and are closed: room again.
            time.sleep(limits.header_timeout + 0.5)
            assert all(s.recv(10) == b"" for s in idle)
            assert submit_http(cp30_basic(), "anonymous", _http_only(server.url))[0].ok
        finally:
            for s in idle:
                s.close()
        assert server.stats()["turned_away"] == 1
        assert server.count == 1


def test_a_tls_client_that_never_says_hello_is_cut_off(tls):
    limits = ReceiverLimits(header_timeout=1.0)
    with Receiver(tls=(tls["server"], tls["server"]), limits=limits) as server:
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            try:
                data = s.recv(10)
            except (TimeoutError, ConnectionResetError):
                data = None
        assert data == b"", "the handshake was not cut off"
        assert time.monotonic() - started < 1.0 + 2


def test_status_can_change_while_running():
    with Receiver(status=503) as server:
        assert not submit_http(cp30_basic(), "anonymous", _http_only(server.url))[0].ok
        server.status = 200
        assert submit_http(cp30_basic(), "anonymous", _http_only(server.url))[0].ok
        assert [r.status for r in server.received] == [503, 200]


def test_stop_cuts_a_long_delay_short():
    server = Receiver(delay=30).start()
    settings = HttpSettings(secure_enabled=False, insecure_url=server.url, timeout=0.3)
    assert "timed out" in submit_http(cp30_basic(), "c0", settings)[0].detail
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 3


# ------------------------------------------------------------------ authentication

def test_a_bearer_token_is_required_when_set(tls, tmp_path):
    store = tmp_path / "reports"
    with Receiver(tls=(tls["server"], tls["server"]), token=TOKEN,
                  store_dir=str(store)) as server:
        def post(**kw):
            return submit_http(cp30_basic(), "c0", HttpSettings(
                secure_url=server.url, insecure_enabled=False, verify=tls["ca"],
                timeout=2.0, **kw))[0]

        missing = post()
        assert not missing.ok and "HTTP 401" in missing.detail
        wrong = post(token=TOKEN[:-1] + "X")
        assert not wrong.ok and "HTTP 401" in wrong.detail
        assert _files(store) == []
        right = post(token=TOKEN)
        assert right.ok, right.detail
        assert TOKEN not in repr(HttpSettings(token=TOKEN))
        r = httpx.post(server.url + "/test", verify=_trust(tls), timeout=3,
                       headers={"Authorization": f"Basic {TOKEN}"},
                       files={"file": ("filename", cp30_basic())})
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert len(_files(store)) == 1


def test_the_submitter_never_sends_a_token_in_clear_text():
    with Receiver() as http:
        (result,) = submit_http(cp30_basic(), "c0", HttpSettings(
            secure_enabled=False, insecure_url=http.url, token=TOKEN))
        assert not result.ok and "HTTPS only" in result.detail
        assert http.received == [] and http.stats()["refused"] == {}


def test_a_token_or_client_ca_needs_tls(tls):
    with pytest.raises(ValueError, match="TLS"):
        Receiver(token=TOKEN)
    with pytest.raises(ValueError, match="TLS"):
        Receiver(client_ca=tls["ca"])


def test_client_certificates_are_required_with_a_client_ca(tls):
    with Receiver(tls=(tls["server"], tls["server"]), client_ca=tls["ca"]) as server:
        files = {"file": ("filename", cp30_basic())}
        r = httpx.post(server.url + "/anon", verify=_trust(tls, tls["client"]),
                       files=files, timeout=3)
        assert r.status_code == 200
        for cert in (None, tls["other"]):
            with pytest.raises((httpx.HTTPError, ssl.SSLError, OSError)):
                httpx.post(server.url + "/anon", verify=_trust(tls, cert), files=files,
                           timeout=3)
        assert server.count == 1


# ------------------------------------------------------------------ ps-console receive

def _start_cli(*args: str):
    rp = start_receive(*args)
    return rp, rp.url


def _wait_lines(rp, count: int, timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(rp.lines) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return list(rp.lines)


def test_receive_command_logs_one_line_per_report_and_stops_on_sigterm(tmp_path):
    rp, url = _start_cli("--dir", str(tmp_path))
    try:
        assert url.startswith("http://127.0.0.1:")
        assert submit_http(cp30_basic(), "c42", _http_only(url))[0].ok
        (refused,) = submit_http(GARBAGE, "anonymous", _http_only(url))
        assert "HTTP 400" in refused.detail
        lines = _wait_lines(rp, 1)
    finally:
        rp.proc.send_signal(signal.SIGTERM)
        rp.proc.wait(timeout=10)
    time.sleep(0.2)  # the drain threads read the last lines
    assert rp.proc.returncode == 0, rp.errors
    assert len(lines) == 1
    assert lines[0].startswith("received /submit cid=customer ")
    assert f"{len(cp30_basic())} bytes schema=SupportKafkaMetricsBasic -> {tmp_path}" in lines[0]
    assert "c42" not in lines[0]  # the kind of id is logged, not the id
    assert any("refused POST /anon" in e and "400" in e for e in rp.errors), rp.errors
    assert any("stopped after 1 report(s)" in e for e in rp.errors)
    assert len(os.listdir(tmp_path)) == 1


def test_receive_command_escapes_what_the_peer_chose(tmp_path):
    evil = container({"type": "record", "name": "Evil\x1b[2J\nreceived /anon",
                      "fields": [{"name": "a", "type": "int"}]}, [{"a": 1}])
    rp, url = _start_cli()
    try:
        assert submit_http(evil, "anonymous", _http_only(url))[0].ok
        (line,) = _wait_lines(rp, 1)
    finally:
        rp.stop()
    assert "\x1b" not in line and "\n" not in line
    assert "schema=Evil\\x1b[2J\\x0areceived /anon" in line


def test_receive_command_over_mutual_tls_with_a_token(tls, tmp_path):
    rp, url = _start_cli("--tls-cert", tls["server"], "--tls-key", tls["server"],
                         "--tls-client-ca", tls["ca"], "--token-file", tls["token"],
                         "--dir", str(tmp_path))
    try:
        assert url.startswith("https://")
        files = {"file": ("filename", cp30_basic())}
        ok = httpx.post(url + "/test", verify=_trust(tls, tls["client"]), files=files,
                        headers={"Authorization": f"Bearer {TOKEN}"}, timeout=3)
        assert ok.status_code == 200
        no_token = httpx.post(url + "/test", verify=_trust(tls, tls["client"]),
                              files=files, timeout=3)
        assert no_token.status_code == 401
        (line,) = _wait_lines(rp, 1)
        assert line.startswith("received /test cid=missing ")
    finally:
        code = rp.stop()
    assert code == 0
    assert TOKEN not in "\n".join(rp.lines + rp.errors)
    assert len(os.listdir(tmp_path)) == 1


def test_receive_command_over_tls(tls):
    rp, url = _start_cli("--tls-cert", tls["server"], "--tls-key", tls["server"])
    try:
        assert url.startswith("https://")
        settings = HttpSettings(secure_url=url, insecure_enabled=False, verify=tls["ca"])
        assert submit_http(cp30_basic(), "c0", settings)[0].ok
        assert _wait_lines(rp, 1)[0].startswith("received /test cid=test ")
    finally:
        rp.proc.send_signal(signal.SIGINT)
        rp.proc.wait(timeout=10)
    assert rp.proc.returncode == 0


@pytest.mark.parametrize("args, needle", [
    (["--listen", "nonsense"], "expected HOST:PORT"),
    (["--tls-cert", "x.pem"], "go together"),
    (["--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.pem"], "TLS certificate"),
    (["--token-file", "/nonexistent"], "needs --tls-cert"),
    (["--tls-client-ca", "/nonexistent"], "needs --tls-cert"),
])
def test_receive_command_usage_errors(args, needle):
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from cli.main import main; sys.exit(main())",
         "receive", *args], capture_output=True, text=True, cwd=REPO, timeout=30)
    assert proc.returncode == 2
    assert needle in proc.stderr


@pytest.mark.parametrize("content, needle", [
    (b"short\n", "at least 16"), (b"has a space in the middle of it\n", "visible ASCII"),
    (b"x" * 2000, "longer than"), (b"line-one-of-tokens\nline-two\n", "visible ASCII")])
def test_receive_command_refuses_a_bad_token_file(tls, tmp_path, content, needle):
    token = tmp_path / "token"
    token.write_bytes(content)
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from cli.main import main; sys.exit(main())",
         "receive", "--listen", "127.0.0.1:0", "--tls-cert", tls["server"], "--tls-key",
         tls["server"], "--token-file", str(token)],
        capture_output=True, text=True, cwd=REPO, timeout=30)
    assert proc.returncode == 2 and needle in proc.stderr
    assert content.decode("ascii", "replace").strip() not in proc.stderr or len(content) < 8


def test_receive_command_memory_stays_flat_over_many_large_reports(tmp_path):
    # 60 reports of 900 KB: a receiver that keeps bodies grows by 54 MB and more.
    rp, url = _start_cli("--dir", str(tmp_path))
    try:
        value = _big_report(900_000)
        with httpx.Client(timeout=10) as client:
            for _ in range(3):  # warm up: the allocator's first arenas
                assert client.post(url + "/anon", files={"file": ("f", value)}).status_code \
                    == 200
            before = rp.status_kib("VmRSS")
            for _ in range(60):
                assert client.post(url + "/anon", files={"file": ("f", value)}).status_code \
                    == 200
            after = rp.status_kib("VmRSS")
    finally:
        rp.stop()
    assert len(os.listdir(tmp_path)) == 63
    assert after - before < 20 * 1024, (before, after)
