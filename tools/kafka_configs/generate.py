"""Regenerate engine/reporting/kafka_configs/broker-*.json from Kafka's own jars.

For each Kafka line the privacy filter knows (3.9, the last with ZooKeeper mode, and the
newest 4.x), Maven fetches `org.apache.kafka:kafka_2.13` once into
`$PS_SANDBOX_CACHE/lib/configdefs-kafka-<version>`; `javac` compiles BrokerConfigDefs.java
against those jars and `java -cp` runs it; its JSON (every broker config key, its type, the
legal values of enumerations, Kafka's packages) is written, pretty and sorted, into the
package data. Run it as `make kafka-configs` or `python -m tools.kafka_configs.generate`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CACHE = Path(os.environ.get("PS_SANDBOX_CACHE", REPO / ".sandbox"))
OUT = REPO / "engine" / "reporting" / "kafka_configs"
# Output file name → the Kafka release its definitions are read from.
LINES = {"broker-3.9.json": "3.9.2", "broker-4.x.json": "4.4.0"}
COMMAND = "make kafka-configs (python -m tools.kafka_configs.generate)"
STEP_TIMEOUT_S = 900  # a first Maven fetch downloads about 50 MB


class GenerateError(RuntimeError):
    """A step failed; the message says which, with the tail of its output."""


def _run(cmd: list[str], what: str) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=STEP_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise GenerateError(f"{what}: no answer within {STEP_TIMEOUT_S} s") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
        raise GenerateError(f"{what} failed (exit {done.returncode}):\n{tail}")
    return done.stdout


def fetch(version: str) -> Path:
    """The lib folder of Kafka `version`, fetched with Maven the first time only."""
    lib = CACHE / "lib" / f"configdefs-kafka-{version}"
    marker = lib / ".complete"
    if marker.exists():
        return lib
    if shutil.which("mvn") is None:
        raise GenerateError("Maven (mvn) is not on PATH: it is needed once to fetch Kafka")
    print(f"# fetching kafka {version} with Maven into {lib}", file=sys.stderr)
    _run(["mvn", "-B", "-q", "-f", str(HERE / "pom.xml"), f"-Dkafka.version={version}",
          f"-Dkafka.lib.dir={lib}", f"-Dmaven.repo.local={CACHE / 'm2'}",
          "dependency:copy-dependencies"], f"Maven fetch of Kafka {version}")
    if not (lib / f"kafka_2.13-{version}.jar").exists():
        raise GenerateError(f"Maven ran but kafka_2.13-{version}.jar is missing from {lib}")
    marker.touch()
    return lib


def definitions(version: str) -> dict[str, object]:
    """What BrokerConfigDefs reads from the jars of Kafka `version`, as a JSON object."""
    for tool in ("javac", "java"):
        if shutil.which(tool) is None:
            raise GenerateError(f"{tool} is not on PATH (a JDK 17 is needed)")
    lib = fetch(version)
    classpath = f"{lib}/*"
    with tempfile.TemporaryDirectory(prefix="kafka-configs-") as classes:
        _run(["javac", "-Xlint:all", "-Werror", "-d", classes, "-cp", classpath,
              str(HERE / "BrokerConfigDefs.java")], f"javac against Kafka {version}")
        out = _run(["java", "-cp", f"{classes}{os.pathsep}{classpath}", "BrokerConfigDefs",
                    str(lib)], f"BrokerConfigDefs on Kafka {version}")
    doc = json.loads(out)
    if doc.get("kafkaVersion") != version:
        raise GenerateError(f"the jars of {lib} say Kafka {doc.get('kafkaVersion')!r}, "
                            f"not {version}")
    if not doc.get("configs"):
        raise GenerateError(f"no broker config key read from Kafka {version}")
    return doc


def render(doc: dict[str, object], version: str) -> str:
    """The package-data file: a note of where it came from, then one key per line."""
    configs = doc["configs"]
    packages = doc["kafkaPackages"]
    if not isinstance(configs, dict) or not isinstance(packages, list):
        raise GenerateError("BrokerConfigDefs wrote no configs object or packages list")
    head = {
        "kafkaVersion": doc["kafkaVersion"],
        "kafkaCommit": doc["kafkaCommit"],
        "generatedFrom": f"{doc['source']} of org.apache.kafka:kafka_2.13:{version}",
        "generatedBy": COMMAND,
    }
    lines = ["{"]
    lines += [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    lines.append('  "configs": {')
    names = sorted(configs)
    for i, name in enumerate(names):
        comma = "," if i < len(names) - 1 else ""
        lines.append(f"    {json.dumps(name)}: {json.dumps(configs[name], sort_keys=True)}"
                     f"{comma}")
    lines.append("  },")
    lines.append('  "kafkaPackages": [')
    lines.append(",\n".join(f"    {json.dumps(p)}" for p in sorted(packages)))
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text`: a temp file in the same folder, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fchmod(f.fileno(), 0o644)  # package data: readable by all, as a checkout is
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    args = parser.parse_args(argv)
    try:
        for name, version in LINES.items():
            text = render(definitions(version), version)
            write_atomically(args.out / name, text)
            keys = len(json.loads(text)["configs"])
            print(f"{args.out / name}: {keys} keys of Kafka {version}", file=sys.stderr)
    except GenerateError as exc:
        print(f"kafka-configs: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
