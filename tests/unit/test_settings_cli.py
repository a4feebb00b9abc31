"""`ps-console settings show|set`, run in-process and once as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli import settings_cmd
from cli.main import main
from engine.config.settings import load_settings
from tests.support.stock import STOCK


def test_show_json_is_typed(stock: Path, capsys) -> None:
    assert main(["settings", "show", "--broker-config", str(stock), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {key: s["value"] for key, s in doc["settings"].items()} == {
        "confluent.support.metrics.enable": True,
        "confluent.support.customer.id": "anonymous",
        "confluent.support.metrics.topic": "__confluent.support.metrics",
        "confluent.support.metrics.report.interval.hours": 24,
        "confluent.support.metrics.endpoint.insecure.enable": True,
        "confluent.support.metrics.endpoint.secure.enable": True,
        "confluent.support.proxy": "",
        "confluent.support.metrics.endpoint.secure": "https://support-metrics.confluent.io",
        "confluent.support.metrics.endpoint.insecure": "http://support-metrics.confluent.io",
    }
    reporting = doc["reporting"]
    assert reporting["state"] == "enabled" and reporting["interval_hours"] == 24
    assert reporting["destinations"]["topic"] == {
        "sent": True, "to": "__confluent.support.metrics", "note": None, "reason": None}
    assert reporting["destinations"]["https"]["to"] == \
        "https://support-metrics.confluent.io/anon"


def test_show_table_says_what_the_agent_does(tmp_path: Path, capsys) -> None:
    path = tmp_path / "s.properties"
    path.write_text("broker.id=1\nconfluent.support.customer.id=bob\n"
                    "confluent.support.metrics.enable:true\n"
                    "confluent.support.metrics.endpoint.insecure.enable=flase\n")
    assert main(["settings", "show", "--broker-config", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "reporting: enabled: a Basic report every 24 h to topic"
    assert out[1].split() == ["topic", "__confluent.support.metrics"]
    assert out[2].startswith("  https  not sent: confluent.support.metrics.endpoint.insecure"
                             ".enable='flase' must be true or false, which stops HTTPS and HTTP")
    head = out.index(next(line for line in out if line.startswith("KEY")))
    assert out[head].split() == ["KEY", "VALUE", "SOURCE", "WHAT", "THE", "AGENT", "DOES"]
    rows = {line.split()[0]: line for line in out[head + 1:]}
    assert len(rows) == 9
    assert rows["confluent.support.metrics.enable"].split()[1:] == ["true", "file:3",
                                                                    "reporting", "on"]
    cid = rows["confluent.support.customer.id"]
    assert cid.split()[1:3] == ["anonymous", "file:2"]
    assert "'bob' must be 'anonymous'" in cid and "reported as anonymous" in cid
    insecure = rows["confluent.support.metrics.endpoint.insecure.enable"]
    assert insecure.split()[1:3] == ["-", "file:4"]
    assert "stops HTTPS and HTTP" in insecure
    assert rows["confluent.support.proxy"].split()[1:3] == ["-", "default"]
    assert not any("default used" in line or "using the default" in line for line in out)


@pytest.mark.parametrize(("content", "why"), [
    ("broker.id=1\n", "is not in the file"),
    ("broker.id=1\nconfluent.support.metrics.enable=false \n", "'false ' (it has a trailing "
                                                               "blank) is not 'true'"),
    ("broker.id=1\nconfluent.support.metrics.enable=no\n", "'no' is not 'true'"),
])
def test_show_says_disabled_and_why_in_text_and_json(tmp_path: Path, capsys, content: str,
                                                     why: str) -> None:
    path = tmp_path / "s.properties"
    path.write_text(content)
    assert main(["settings", "show", "--broker-config", str(path)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("reporting: disabled: confluent.support.metrics.enable")
    assert why in first and first.endswith("nothing is collected or sent")
    assert main(["settings", "show", "--broker-config", str(path), "--json"]) == 0
    reporting = json.loads(capsys.readouterr().out)["reporting"]
    assert reporting["state"] == "disabled" and not reporting["enabled"]
    assert why in reporting["reason"]
    assert all(not d["sent"] and why in d["reason"]
               for d in reporting["destinations"].values())


def test_show_json_says_a_refused_interval_stops_everything(tmp_path: Path, capsys) -> None:
    path = tmp_path / "s.properties"
    path.write_text("confluent.support.metrics.enable=true\n"
                    "confluent.support.metrics.report.interval.hours=soon\n")
    assert main(["settings", "show", "--broker-config", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    interval = doc["settings"]["confluent.support.metrics.report.interval.hours"]
    assert interval["value"] is None and interval["raw"] == "soon"
    assert "whole number of hours" in interval["problem"]
    assert doc["reporting"]["state"] == "refused"
    assert "interval.hours='soon' must be a whole number" in doc["reporting"]["reason"]
    assert captured.err == ""


def test_set_prints_diff_and_backup(stock: Path, capsys) -> None:
    code = main(["settings", "set", "--broker-config", str(stock),
                 "confluent.support.customer.id=c123", "confluent.support.proxy=http://p:3128"])
    assert code == 0
    out = capsys.readouterr().out
    assert "-confluent.support.customer.id=anonymous" in out
    assert "+confluent.support.customer.id=c123" in out
    assert "+confluent.support.proxy=http://p:3128" in out
    assert f"previous content in {stock}.bak" in out
    eff = load_settings(stock).effective
    assert eff["confluent.support.customer.id"].value == "c123"
    assert Path(f"{stock}.bak").read_bytes() == STOCK


def test_set_escapes_values_that_need_it(stock: Path) -> None:
    assert main(["settings", "set", "--broker-config", str(stock),
                 "confluent.support.metrics.endpoint.insecure=http://h:80/a=b:c"]) == 0
    assert stock.read_bytes().endswith(
        b"\nconfluent.support.metrics.endpoint.insecure=http://h:80/a=b:c\n")


@pytest.mark.parametrize(("pair", "message"), [
    ("confluent.support.customer.id=bob", "confluent.support.customer.id='bob' must be"),
    ("confluent.support.metrics.report.interval.hours=0", "whole number of hours"),
    ("confluent.support.metrics.enable=yes", "must be true or false"),
    ("confluent.support.metrics.topic=..", "legal Kafka topic name"),
    ("confluent.support.proxy=proxy:3128", "must be empty or http://host:port"),
    ("log.dirs=/tmp/x", "log.dirs is not a Proactive Support setting"),
    ("confluent.support.custmer.id=c1", "did you mean confluent.support.customer.id?"),
    ("confluent.support.metrics.enable", "expected KEY=VALUE"),
    ("confluent.support.metrics.endpoint.secure.enable=true", "given twice"),
])
def test_set_refuses_bad_pairs_and_leaves_the_file(stock: Path, capsys, pair, message) -> None:
    # A valid pair beside the bad one: nothing at all may be written.
    code = main(["settings", "set", "--broker-config", str(stock),
                 "confluent.support.metrics.endpoint.secure.enable=false", pair])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert stock.read_bytes() == STOCK
    assert not Path(f"{stock}.bak").exists()


def test_set_reports_every_bad_pair_at_once(stock: Path, capsys) -> None:
    assert main(["settings", "set", "--broker-config", str(stock),
                 "confluent.support.metrics.enable=maybe",
                 "confluent.support.metrics.topic=a b"]) == 2
    err = capsys.readouterr().err
    assert "metrics.enable='maybe'" in err and "metrics.topic='a b'" in err


def test_missing_files_and_folders_are_usage_errors(tmp_path: Path, capsys) -> None:
    # --help: "2  bad options or a bad broker config file".
    assert main(["settings", "show", "--broker-config", str(tmp_path / "nope")]) == 2
    assert main(["settings", "set", "--broker-config", str(tmp_path),
                 "confluent.support.customer.id=c1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert "does not exist" in err[0] and "is a directory" in err[1]


def test_set_refuses_a_file_changed_meanwhile_unless_forced(stock: Path, capsys,
                                                            monkeypatch) -> None:
    def load_then_someone_edits(path):
        loaded = load_settings(path)
        with open(path, "ab") as handle:
            handle.write(b"edited.meanwhile=1\n")
        return loaded

    monkeypatch.setattr(settings_cmd, "load_settings", load_then_someone_edits)
    args = ["settings", "set", "--broker-config", str(stock), "confluent.support.customer.id=c1"]
    assert main(args) == 1
    assert "changed on disk since it was read" in capsys.readouterr().err
    assert b"customer.id=anonymous" in stock.read_bytes()
    assert main([*args, "--force"]) == 0
    assert b"customer.id=c1" in stock.read_bytes()


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("ps-console")
    result = subprocess.run([str(script), "settings", "set", "--broker-config",
                             str(tmp_path / "missing.properties"),
                             "confluent.support.customer.id=c1"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"ps-console: broker config {tmp_path / 'missing.properties'} does not exist")


@pytest.mark.parametrize("proxy", ["http://user:S3cretPw@proxy bad:3128",
                                   "http://user:S3cretPw@proxy.corp:3128/path",
                                   "ftp://user:S3cretPw@proxy:21"])
def test_show_never_prints_a_proxy_password(tmp_path: Path, capsys, proxy: str) -> None:
    """An invalid proxy URL is the one place credentials could be echoed from the file."""
    path = tmp_path / "server.properties"
    path.write_text(f"broker.id=1\nconfluent.support.metrics.enable=true\n"
                    f"confluent.support.proxy={proxy}\n")
    for extra in ([], ["--json"]):
        main(["settings", "show", "--broker-config", str(path), *extra])
        out, err = capsys.readouterr()
        assert "S3cretPw" not in out + err
        assert "proxy" in out
