# ps-console: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SANDBOX := $(PY) -m tools.sandbox.kafka_sandbox
# MODE=zk (Kafka 3.9 + ZooKeeper, .sandbox/run) or MODE=kraft (Kafka 4.x KRaft,
# .sandbox/run-kraft); BROKERS=N brokers; CONTROLLERS=M (KRaft) a split quorum of M
# controller-only nodes; SECURE=1 adds the SASL, SSL and mutual-TLS listeners (and ZooKeeper
# logins and TLS), read by tools/sandbox/kafka_sandbox.py from the environment.
BROKERS ?= 3
MODE ?= zk
CONTROLLERS ?= 0
PYTEST_ARGS ?=

.PHONY: help venv bytecode kafka kafka-configs test lint demo example-bundle dist bench sandbox-up sandbox-down sandbox-status screenshots clean

help:
	@echo "make demo            a local 3-broker sandbox with agents, then the console"
	@echo "make test            install everything, run the whole suite against a real sandbox"
	@echo "make sandbox-up      start ZooKeeper + 3 brokers of Kafka 3.9 (MODE=kraft: 3 KRaft"
	@echo "                     nodes of Kafka 4.x; BROKERS=N, CONTROLLERS=M, SECURE=1)"
	@echo "make sandbox-status  connection facts and process state (MODE=kraft for KRaft),"
	@echo "                     and the demo's cluster while make demo runs"
	@echo "make sandbox-down    stop every process both sandboxes started"
	@echo "make dist            build the wheel and sdist into dist/"
	@echo "make example-bundle  regenerate examples/support-metrics-example.zip"
	@echo "make bench           every benchmark, one table, bench/RESULTS.md"
	@echo "make kafka-configs   regenerate the privacy filter's Kafka broker config lists"

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

venv: $(VENV)/.installed

# Bytecode for the project's own modules, as pip writes it when it installs the wheel: an
# editable checkout on a machine with PYTHONDONTWRITEBYTECODE set compiles some seventy
# modules at every start of the console otherwise (about 0.1 s before its first frame).
bytecode: venv
	@$(PY) -m compileall -q engine cli tui

# Kafka 3.9 (ZooKeeper mode) and Kafka 4.x (KRaft), each once into .sandbox/lib.
kafka: venv
	$(SANDBOX) fetch

lint: venv
	$(VENV)/bin/ruff check engine cli tui tests tools bench examples
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

# The fixtures in tests/conftest.py start a fresh sandbox and stop it when the session
# ends, pass or fail; PS_SANDBOX_REUSE=1 runs against `make sandbox-up` instead.
# tmux (a Debian package) drives the real console in tests/tui/test_console_tmux.py.
test: kafka lint
	@command -v tmux >/dev/null || { apt-get update -qq && apt-get install -y -qq tmux; } \
		|| echo "test: could not install tmux; the tmux test of the console is skipped"
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Java and Maven are checked by the script itself: without them it opens the example
# bundle offline instead of failing.
demo: venv bytecode
	$(PY) -m tools.demo

# Every benchmark against a sandbox of its own; prints one table, writes bench/RESULTS.md.
# kcat is the reference of the bundle benchmark (a Debian package); without it the table
# says so and only the export is measured.
bench: kafka bytecode
	@command -v kcat >/dev/null || { apt-get update -qq && apt-get install -y -qq kcat; } \
		|| echo "bench: could not install kcat; the bundle benchmark runs without it"
	$(PY) -m bench.run_all

# examples/support-metrics-example.zip, made by real agents on a private sandbox of its own
# (.sandbox/example, stopped at the end); about two minutes.
example-bundle: kafka
	$(PY) -m examples.make_example_bundle

# engine/reporting/kafka_configs/broker-{3.9,4.x}.json, the keys the privacy filter may send:
# Kafka's own broker ConfigDef read by tools/kafka_configs/BrokerConfigDefs.java (javac and
# java against the jars, which Maven fetches once into .sandbox/lib/configdefs-kafka-*).
# The generator is plain Python: it needs no virtual environment.
kafka-configs:
	$(PYTHON) -m tools.kafka_configs.generate

dist: venv
	rm -rf dist
	$(PY) -m build --outdir dist .

# SVGs of the console's main screens from the real app on deterministic data.
screenshots: venv
	$(PY) -m tools.screenshots

sandbox-up: kafka
	$(SANDBOX) start --mode $(MODE) --brokers $(BROKERS) --controllers $(CONTROLLERS)

sandbox-down:
	@test -x $(PY) && $(SANDBOX) stop --mode zk && $(SANDBOX) stop --mode kraft || true

# The sandbox of MODE, and the demo's cluster (.sandbox/demo/cluster) while `make demo` runs.
sandbox-status:
	@status=0; $(SANDBOX) status --mode $(MODE) || status=$$?; \
	if test -f .sandbox/demo/cluster/state.json; then \
		echo "# make demo's cluster (.sandbox/demo/cluster):"; \
		$(SANDBOX) --state-dir .sandbox/demo/cluster status && status=0; \
	fi; exit $$status

clean: sandbox-down
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist *.egg-info
