"""The agent's pure pieces: jitter bounds, change detection, broker id lookup."""

from __future__ import annotations

import os
import random

import pytest

from engine.config.settings import load_settings
from engine.errors import UsageError
from engine.reporting.agent import jittered, stamp


def test_jitter_stays_within_three_percent_and_varies():
    rng = random.Random(7)
    values = [jittered(3600.0, rng) for _ in range(500)]
    assert all(3600 * 0.97 <= v <= 3600 * 1.03 for v in values)
    assert max(values) - min(values) > 100  # not a constant


def test_stamp_sees_a_same_size_same_mtime_edit(tmp_path):
    path = tmp_path / "server.properties"
    path.write_text("confluent.support.metrics.enable=true\n")
    before = stamp(path)
    st = path.stat()
    path.write_text("confluent.support.metrics.enable=fals\n"[:len(path.read_text())])
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # an edit that hides from mtime
    assert stamp(path) != before
    path.unlink()
    assert stamp(path) is None


def test_broker_id_from_file_or_from_meta_properties(tmp_path):
    explicit = tmp_path / "a.properties"
    explicit.write_text("broker.id=7\n")
    assert load_settings(explicit).broker.require_broker() == 7

    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "meta.properties").write_text("version=0\nbroker.id=1001\ncluster.id=x\n")
    generated = tmp_path / "b.properties"
    generated.write_text(f"broker.id=-1\nlog.dirs={tmp_path / 'none'},{logs}\n")
    assert load_settings(generated).broker.require_broker() == 1001

    unknown = tmp_path / "c.properties"
    unknown.write_text("zookeeper.connect=localhost:2181\n")
    with pytest.raises(UsageError, match="no usable broker.id"):
        load_settings(unknown).broker.require_broker()


def test_check_speaks_nagios_on_stdout_even_when_the_config_is_missing(tmp_path, capsys):
    from cli.main import main

    code = main(["agent", "--check", "--broker-config", str(tmp_path / "missing.properties")])
    out = capsys.readouterr().out
    assert code == 2  # a missing file is a usage error, as --help says
    assert out.startswith("PS-AGENT CRITICAL - ") and "missing.properties" in out
    assert out.count("\n") == 1
