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
    assert json.loads(capsys.readouterr().out) == {
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


def test_show_table_has_sources_and_problems(tmp_path: Path, capsys) -> None:
    path = tmp_path / "s.properties"
    path.write_text("broker.id=1\nconfluent.support.customer.id=bob\n"
                    "confluent.support.metrics.enable:false\n")
    assert main(["settings", "show", "--broker-config", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["KEY", "VALUE", "SOURCE", "PROBLEM"]
    rows = {line.split()[0]: line for line in out[1:]}
    assert len(rows) == 9
    assert rows["confluent.support.metrics.enable"].split()[1:3] == ["false", "file:3"]
    cid = rows["confluent.support.customer.id"]
    assert cid.split()[1:3] == ["anonymous", "file:2"]
    assert "'bob' must be 'anonymous'" in cid and "default used" in cid
    assert rows["confluent.support.proxy"].split()[1:] == ["(empty)", "default"]


def test_show_json_warns_about_problems_on_stderr(tmp_path: Path, capsys) -> None:
    path = tmp_path / "s.properties"
    path.write_text("confluent.support.metrics.report.interval.hours=soon\n")
    assert main(["settings", "show", "--broker-config", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["confluent.support.metrics.report.interval.hours"] == 24
    assert "interval.hours='soon' must be a whole number" in captured.err


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
