"""The local receiver and `ps-console receive`, exercised over real sockets on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import trustme

from engine.reporting.receiver import Receiver, parse_multipart
from engine.reporting.submit_http import HttpSettings, submit_http
from tests.support.cp_records import GARBAGE, cp30_basic

REPO = Path(__file__).resolve().parents[2]


def _http_only(url: str) -> HttpSettings:
    return HttpSettings(secure_enabled=False, insecure_url=url, timeout=2.0)


def test_store_dir_keeps_each_report_atomically(tmp_path):
    store = tmp_path / "reports"
    with Receiver(store_dir=str(store)) as server:
        values = [cp30_basic(), GARBAGE, b"\x00" * 3]
        for value in values:
            assert submit_http(value, "c0", _http_only(server.url))[0].ok
        assert [r.body for r in server.received] == values
    files = sorted(store.iterdir())
    assert [f.name.startswith("report-") and f.name.endswith("-test.avro") for f in files] == [
        True] * 3
    assert [f.read_bytes() for f in files] == values  # names sort in arrival order
    assert not [f for f in store.iterdir() if f.name.startswith(".incoming-")]


def test_unknown_path_wrong_method_and_bad_forms(tmp_path):
    with Receiver() as server, httpx.Client(timeout=2) as client:
        r = client.post(server.url + "/elsewhere", files={"file": ("f", b"x")},
                        data={"cid": "c0"})
        assert r.status_code == 404
        assert server.received[-1].path == "/elsewhere"  # recorded, so tests can see it
        assert client.get(server.url + "/anon").status_code == 405
        r = client.post(server.url + "/anon", content=b"plain",
                        headers={"Content-Type": "text/plain"})
        assert r.status_code == 400
        r = client.post(server.url + "/anon", content=b"--x\r\n",
                        headers={"Content-Type": "multipart/form-data; boundary=x"})
        assert r.status_code == 400
        assert len(server.received) == 1


def test_status_can_change_while_running():
    with Receiver(status=503) as server:
        assert not submit_http(b"v", "anonymous", _http_only(server.url))[0].ok
        server.status = 200
        assert submit_http(b"v", "anonymous", _http_only(server.url))[0].ok


def test_stop_cuts_a_long_delay_short():
    server = Receiver(delay=30).start()
    settings = HttpSettings(secure_enabled=False, insecure_url=server.url, timeout=0.3)
    assert "timed out" in submit_http(b"v", "c0", settings)[0].detail
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 3


def test_parse_multipart_keeps_binary_parts_exact():
    payload = b"a\r\nb\rc\nd\r\n\r\n--almost\r\n"
    body = (b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"cid\"\r\n\r\n"
            b"c123\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
            b"filename=\"filename\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            + payload + b"\r\n--XyZ--\r\nepilogue")
    parts = parse_multipart('multipart/form-data; boundary="XyZ"', body)
    assert parts["cid"] == (None, "text/plain", b"c123")
    assert parts["file"] == ("filename", "application/octet-stream", payload)
    with pytest.raises(ValueError, match="closing"):
        parse_multipart("multipart/form-data; boundary=XyZ", body.split(b"\r\n--XyZ--")[0])


def _start_cli(*args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from cli.main import main; sys.exit(main())",
         "receive", "--listen", "127.0.0.1:0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    first = proc.stdout.readline()
    assert first.startswith("listening on "), first + proc.stderr.read()
    return proc, first.split()[2]


def test_receive_command_logs_one_line_per_report_and_stops_on_sigterm(tmp_path):
    proc, url = _start_cli("--dir", str(tmp_path))
    try:
        assert url.startswith("http://127.0.0.1:")
        assert submit_http(cp30_basic(), "c42", _http_only(url))[0].ok
        assert submit_http(GARBAGE, "anonymous", _http_only(url))[0].ok
        lines = [proc.stdout.readline().strip() for _ in range(2)]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert lines[0].startswith("received /submit cid=customer ")
    assert f"{len(cp30_basic())} bytes schema=SupportKafkaMetricsBasic -> {tmp_path}" in lines[0]
    assert lines[1].startswith(f"received /anon cid=anonymous {len(GARBAGE)} bytes "
                               "schema=undecodable (not an Avro container")
    assert "c42" not in lines[0]  # the kind of id is logged, not the id
    assert "stopped after 2 report(s)" in err
    assert len(os.listdir(tmp_path)) == 2


def test_receive_command_over_tls(tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "both.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    both = str(tmp_path / "both.pem")
    proc, url = _start_cli("--tls-cert", both, "--tls-key", both)
    try:
        assert url.startswith("https://")
        settings = HttpSettings(secure_url=url, insecure_enabled=False,
                                verify=str(tmp_path / "ca.pem"))
        assert submit_http(cp30_basic(), "c0", settings)[0].ok
        assert proc.stdout.readline().startswith("received /test cid=test ")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    assert proc.returncode == 0


@pytest.mark.parametrize("args, needle", [
    (["--listen", "nonsense"], "expected HOST:PORT"),
    (["--tls-cert", "x.pem"], "go together"),
    (["--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.pem"], "TLS certificate"),
])
def test_receive_command_usage_errors(args, needle):
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from cli.main import main; sys.exit(main())",
         "receive", *args], capture_output=True, text=True, cwd=REPO, timeout=30)
    assert proc.returncode == 2
    assert needle in proc.stderr
