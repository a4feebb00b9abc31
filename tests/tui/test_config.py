"""`tui/config.py`: the file, then PS_CONSOLE_* variables, then flags; `--show-config`
says where each value came from and never prints a secret. No cluster needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli import build_parser
from cli.main import add_console_options, main
from engine.errors import UsageError
from tui.config import load_config

CONFIG = """\
profile = "prod"

[profiles.prod]
zookeeper = "zk-file:2181/kafka"
topic = "topic-from-file"
broker_configs = ["/etc/kafka/file.properties"]
read_only = false

[profiles.dev]
bootstrap = "dev:9092"

[keys]
export = "x"
"""


def _args(*argv: str):
    return build_parser(console_options=add_console_options).parse_args(list(argv))


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    return path


def test_file_alone(config_file):
    cfg = load_config(None, env={}, path=config_file)
    assert (cfg.profile, cfg.zookeeper, cfg.topic) == ("prod", "zk-file:2181/kafka",
                                                       "topic-from-file")
    assert cfg.broker_configs == ("/etc/kafka/file.properties",)
    assert cfg.keys == {"export": "x"}
    assert cfg.sources["topic"] == "profile prod"


def test_env_beats_file_and_flags_beat_env(config_file):
    env = {"PS_CONSOLE_TOPIC": "topic-from-env", "PS_CONSOLE_READ_ONLY": "yes",
           "PS_CONSOLE_BROKER_CONFIGS": "/a.properties:/b.properties"}
    cfg = load_config(None, env=env, path=config_file)
    assert cfg.topic == "topic-from-env" and cfg.sources["topic"] == "PS_CONSOLE_TOPIC"
    assert cfg.read_only is True
    assert cfg.broker_configs == ("/a.properties", "/b.properties")
    assert cfg.zookeeper == "zk-file:2181/kafka"  # untouched by the environment

    args = _args("--topic", "topic-from-flag", "--broker-config", "/c.properties",
                 "--zookeeper", "zk-flag:2181")
    cfg = load_config(args, env=env, path=config_file)
    assert cfg.topic == "topic-from-flag" and cfg.sources["topic"] == "--topic"
    assert cfg.broker_configs == ("/c.properties",)
    assert cfg.zookeeper == "zk-flag:2181" and cfg.sources["zookeeper"] == "--zookeeper"
    assert cfg.read_only is True  # a flag not given leaves the environment's value


def test_profile_from_env_then_flag(config_file):
    cfg = load_config(None, env={"PS_CONSOLE_PROFILE": "dev"}, path=config_file)
    assert (cfg.profile, cfg.bootstrap, cfg.zookeeper) == ("dev", "dev:9092", None)
    cfg = load_config(_args("--profile", "prod"), env={"PS_CONSOLE_PROFILE": "dev"},
                      path=config_file)
    assert cfg.profile == "prod" and cfg.sources["profile"] == "--profile"


def test_a_flag_for_one_way_in_replaces_the_other_from_the_file(config_file):
    cfg = load_config(_args("--bootstrap-server", "b:9092"), env={}, path=config_file)
    assert cfg.bootstrap == "b:9092" and cfg.zookeeper is None


@pytest.mark.parametrize("text, fragment", [
    ("profile = 'nope'\n", "no profile 'nope'"),
    ("[profiles.p]\nzookeeper = 1\n", "expected a string"),
    ("[profiles.p]\nfrobnicate = 'x'\n", "unknown setting 'frobnicate'"),
    ("[profiles.p]\nread_only = 'maybe'\n", "expected true or false"),
    ("[keys]\nexport = 1\n", "[keys]"),
    ("not = [toml\n", "not valid TOML"),
])
def test_bad_files_are_one_line_usage_errors(tmp_path, text, fragment):
    path = tmp_path / "config.toml"
    path.write_text(text)
    env = {"PS_CONSOLE_PROFILE": "p"} if "profiles.p" in text else {}
    with pytest.raises(UsageError) as caught:
        load_config(None, env=env, path=path)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_show_config_names_sources_and_masks_secrets(config_file, tmp_path, capsys,
                                                     monkeypatch):
    secret = "s3cret-Pa55-do-not-print"
    command_config = tmp_path / "client.properties"
    command_config.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\n"
                              f"sasl.username=ops\nsasl.password={secret}\n")
    monkeypatch.setenv("PS_CONSOLE_CONFIG", str(config_file))
    monkeypatch.setenv("PS_CONSOLE_TOPIC", "topic-from-env")
    code = main(["--show-config", "--command-config", str(command_config),
                 "--broker-config", "/c.properties"])
    out = capsys.readouterr().out
    assert code == 0
    assert secret not in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert str(command_config) in lines["command_config"]
    assert "(--command-config)" in lines["command_config"]
    assert "topic-from-env" in lines["topic"] and "(PS_CONSOLE_TOPIC)" in lines["topic"]
    assert "(--broker-config)" in lines["broker_configs"]
    assert "(profile prod)" in lines["zookeeper"]
    assert "x" in lines["keys.export"]
