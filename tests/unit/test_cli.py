"""The command line's contract: help exits 0, usage errors exit 2 in one line."""

import subprocess
import sys

import pytest

from cli import SUBCOMMANDS, agent_main, bundle_main, version_text
from cli.main import main


def test_help_lists_every_subcommand_and_exits_0(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert f"\n    {name} " in out


@pytest.mark.parametrize("argv", [["no-such-command"], ["--no-such-option"],
                                  ["cluster", "--no-such-option", "--zookeeper", "x:1"]])
def test_unknown_subcommand_or_option_exits_2_with_usage_and_one_line(argv, capsys):
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: ps-console")
    assert len([line for line in err.splitlines() if "error:" in line]) == 1


def test_version_names_python_and_the_key_libraries(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out == version_text() + "\n"
    for name in ("ps-console", "python", "textual", "confluent-kafka", "kazoo", "librdkafka"):
        assert name in out


@pytest.mark.parametrize("entry,prog", [(bundle_main, "support-metrics-bundle"),
                                        (agent_main, "ps-console-agent")])
def test_alias_scripts_speak_under_their_own_name(entry, prog, capsys):
    with pytest.raises(SystemExit) as done:
        entry(["--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: {prog} ")
    with pytest.raises(SystemExit) as done:
        entry(["--no-such-option"])
    assert done.value.code == 2
    assert f"{prog}: error:" in capsys.readouterr().err


def test_alias_script_names_itself_in_runtime_errors_too(capsys):
    # A closed local port: the export fails at once, before any file is made.
    code = bundle_main(["--bootstrap-server", "127.0.0.1:1", "--timeout", "1",
                        "--file", "never-made.zip"])
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("support-metrics-bundle: ")


@pytest.mark.parametrize("argv", [
    ["cluster", "--bootstrap-server", "k:9092", "--timeout", "inf"],
    ["cluster", "--bootstrap-server", "k:9092", "--timeout", "1e300"],
    ["cluster", "--bootstrap-server", "k:9092", "--timeout", "nan"],
    ["cluster", "--bootstrap-server", "k:9092", "--timeout", "0"],
    ["reports", "--zookeeper", "zk:2181", "--timeout", "-3"],
    ["bundle", "--bootstrap-server", "k:9092", "--runtime", "nan"],
    ["bundle", "--bootstrap-server", "k:9092", "--runtime", "-1"],
    ["bundle", "--bootstrap-server", "k:9092", "--runtime", "inf"],
    ["report", "--broker-config", "server.properties", "--broker-id", "-5"],
    ["report", "--broker-config", "server.properties", "--broker-id", "1.5"],
    ["agent", "--broker-config", "server.properties", "--interval-seconds", "inf"],
    ["agent", "--broker-config", "server.properties", "--check", "--grace-seconds", "nan"],
    ["--zookeeper", "zk:2181", "--timeout", "inf"],  # the console's own options
])
def test_every_numeric_option_is_finite_and_in_range(argv, capsys):
    """A number no bound can honour is a usage error, exit 2 in one line, before any I/O."""
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "Traceback" not in errors[0]


@pytest.mark.parametrize("command", [["report"], ["agent", "--once"]])
def test_a_bad_http_token_file_is_a_usage_error_before_any_network(tmp_path, command):
    from cli import build_parser, run

    config = tmp_path / "server.properties"
    config.write_text("broker.id=1\nzookeeper.connect=127.0.0.1:1\n")
    token = tmp_path / "token"
    token.write_text("short\n")
    args = build_parser().parse_args([*command, "--broker-config", str(config),
                                      "--http-token-file", str(token)])
    assert run(args) == 2


def test_the_parser_loads_no_command_s_engine_work():
    """`ps-console` with no subcommand builds the whole parser before the console starts:
    defining the commands must not load what only running one needs (the agent, the
    settings editor, Kafka and ZooKeeper clients)."""
    probe = ("import sys\n"
             "from cli import build_parser\n"
             "build_parser()\n"
             "print(' '.join(sorted(sys.modules)))\n")
    loaded = set(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                check=True, timeout=60).stdout.split())
    for module in ("engine.reporting.agent", "engine.reporting.collector",
                   "engine.cluster.session", "engine.reading.detail",
                   "engine.reporting.http_token", "confluent_kafka", "kazoo"):
        assert module not in loaded
