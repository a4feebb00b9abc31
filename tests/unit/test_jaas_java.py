"""engine.cluster.jaas against Kafka's own parser: the same texts, the same outcome.

A corpus of hand-written `sasl.jaas.config` values (what operators write, and the
tokenizer's corners) plus a few thousand random ones from an alphabet of the characters that
matter go through Kafka 3.9's `JaasContext.loadClientContext` (tests/support/java/
JaasParse.java, run from source with the sandbox's Kafka jars) and through
`parse_jaas_config`; module, flag and every option must agree, and so must refusals.
"""

from __future__ import annotations

import base64
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.cluster.jaas import JaasSyntaxError, parse_jaas_config
from tools.sandbox import kafka_sandbox

HARNESS = Path(__file__).resolve().parent.parent / "support" / "java" / "JaasParse.java"

PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule"
KRB5 = "com.sun.security.auth.module.Krb5LoginModule"

CORPUS = [
    f'{PLAIN} required username="alice" password="alice-secret";',
    f'{SCRAM} required password="p w" username="bob";',
    f"{SCRAM} REQUIRED username='single' password='quoted';",
    f'{SCRAM} requisite username=bob password="x\\"y\\\\z\\n\\t\\101\\0\\777\\8";',
    f"{SCRAM} sufficient username=bob-1.2_x$y password=abc;",
    f"{SCRAM} optional username=1bob password=x;",
    f"{SCRAM} required username=-bob password=x;",
    f"{SCRAM} required username=bob password=p@ss;",
    f'{SCRAM} required username="bob" password="unterminated;',
    f'{SCRAM} required username="bob"\n password="line\nbreak";',
    f'{SCRAM} required username="bob" password="x"',
    f'{SCRAM} required username="bob" password="x";;',
    f'{SCRAM} required; {PLAIN} required;',
    f'{SCRAM} bogus username="bob";',
    f'{SCRAM} username="bob";',
    f'/* comment */ {SCRAM} required // rest of line\n username="bob" password="x";',
    f'{SCRAM} required /* a * / b */ username="bob" password="x";',
    f'{SCRAM} required username="bob" / password="x";\n;',
    f"{SCRAM} required username=/bob;",
    f'"{SCRAM}" "required" "username"="bob";',
    f'{SCRAM} required 1="one" username="bob";',
    f'{SCRAM} required username="a" username="b";',
    f'{SCRAM} required username="";',
    f'{KRB5} required useKeyTab=true storeKey=true keyTab="/etc/security/keytabs/'
    'client.keytab" principal="client@EXAMPLE.COM";',
    f"{KRB5} required useKeyTab=true keyTab=/etc/krb5.keytab principal=client;",
    f"{KRB5} required useTicketCache=true;",
    f"{SCRAM} required username=caf\u00e9 password=\u0131\u0100x;",
    f"{SCRAM} r\u0131quired;",
    f"{SCRAM} required username=a\x85b;",
    f'{SCRAM} required username="bob" password="x\\',
    f"{SCRAM} required username=.5 password=x;",
    f"{SCRAM} required username=- password=x;",
    "",
    "   ",
    ";",
    "/* never closed",
    "x required a=b;/",
    "x required a=b; // trailing comment",
    "x required a=\r\nb;",
    "x required a=b;\r/* c *\r/ */",
]

NOISE = list("abcXYZ019.-_$\"'\\/*=;@: \t\n\r") + ["\u00e9", "\u0131", "\u0100", "\x85"]
QUOTED = list("ab Z9.-=;@:/*'\t") + ["\\\"", "\\\\", "\\n", "\\t", "\\1", "\\477", "\\38",
                                      "\\q", "\n", "\u00e9", "\u0100"]
GAPS = [" ", "  ", "\t", "\n", " /* c */ ", " // c\n", "\r\n"]


def _value(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.5:
        quote = rng.choice("\"'")
        return quote + "".join(rng.choice(QUOTED) for _ in range(rng.randint(0, 8))) + quote
    return "".join(rng.choice("abz09.-_$\u00e9@/") for _ in range(rng.randint(1, 6)))


def _random_cases(n: int, seed: int = 17) -> list[str]:
    """Texts built from JAAS tokens, some of them then damaged by one random character."""
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        parts = [rng.choice([SCRAM, PLAIN, "m", '"m"', "9m"]),
                 rng.choice(["required", "Optional", "REQUISITE", "sufficient", "'required'",
                             "requird"])]
        for _ in range(rng.randint(0, 4)):
            parts.append(rng.choice(["username", "password", "a_b", "x-y", "$k", "1k"])
                         + rng.choice(["=", " = ", "=\n"]) + _value(rng))
        text = "".join(p + rng.choice(GAPS) for p in parts) + rng.choice([";", ";", ";", "", ";;"])
        if rng.random() < 0.3:
            at = rng.randint(0, len(text))
            text = text[:at] + rng.choice(NOISE) + text[at:]
        cases.append(text)
    return cases


def _java_outcomes(cases: list[str]) -> list[tuple]:
    if shutil.which("java") is None:
        pytest.fail("java (a JDK 17) is not on PATH: the JAAS comparison needs it")
    lib = kafka_sandbox.fetch(quiet=True)
    stdin = "".join(base64.b64encode(c.encode()).decode() + "\n" for c in cases)
    done = subprocess.run(["java", "-Xshare:auto", "-XX:TieredStopAtLevel=1",
                           "-cp", f"{lib}/*", str(HARNESS)], input=stdin,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith(("OK", "ERR"))]
    assert len(lines) == len(cases), done.stdout[-2000:] + done.stderr[-2000:]

    def decode(s: str) -> str:
        return base64.b64decode(s).decode()

    out: list[tuple] = []
    for line in lines:
        parts = line.split(" ")
        if parts[0] == "ERR":
            out.append(("ERR",))
            continue
        options = {decode(parts[i]): decode(parts[i + 1]) for i in range(4, len(parts), 2)}
        out.append(("OK", decode(parts[1]), parts[2], int(parts[3]), options))
    return out


def _python_outcome(text: str) -> tuple:
    try:
        entry = parse_jaas_config(text)
    except JaasSyntaxError:
        return ("ERR",)
    return ("OK", entry.module, entry.flag, entry.unnamed_options, dict(entry.options))


@pytest.mark.timeout(180)
def test_the_parser_agrees_with_kafkas_on_every_text():
    cases = CORPUS + _random_cases(3000)
    java = _java_outcomes(cases)
    mismatches = [(text, want, _python_outcome(text)) for text, want in zip(cases, java, strict=True)
                  if _python_outcome(text) != want]
    assert not mismatches, f"{len(mismatches)} differ, first: {mismatches[:3]!r}"
    # The corpus is not vacuous: it holds accepted and refused texts of every kind.
    assert sum(o[0] == "OK" for o in java[:len(CORPUS)]) >= 15
    assert sum(o[0] == "ERR" for o in java[:len(CORPUS)]) >= 15
    assert sum(o[0] == "OK" and bool(o[4]) for o in java[len(CORPUS):]) >= 100
