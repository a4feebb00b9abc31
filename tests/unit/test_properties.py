"""engine.config.properties: Java semantics (checked against the real java.util.Properties) and
byte-exact round trips."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config.properties import (
    PropertiesDocument,
    PropertiesSyntaxError,
    escape_key,
    escape_value,
    load_properties,
    parse_properties,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# Pieces that combine into every syntax form: separators, blanks (Java's three), comment
# marks, escapes, continuations and all three line endings. No piece ends in a lone
# backslash followed by "u", so a generated file never holds a malformed \uXXXX escape.
_PIECES = [" ", "\t", "\f", "=", ":", "#", "!", "\\", "\\\\", "\n", "\r\n", "\r", "a", "k.x",
           "é", "\xff", "\\u00e9", "\\uD83D\\uDE00", "\\uD83D", "\\t", "\\n", "\\=", "\\ ",
           "\\\n", "\\\r\n", "\\\n   ", "\n\n", "v 1"]
property_text = st.lists(st.sampled_from(_PIECES), max_size=40).map("".join)

# Files built line by line, closer to what people write, with one line ending per file.
_line = st.one_of(
    st.sampled_from(["", "   ", "\t\f", "# comment", "! bang", "  #indented \\"]),
    st.builds(lambda lead, key, sep, value, cont: f"{lead}{key}{sep}{value}{cont}",
              st.sampled_from(["", "  ", "\t"]),
              st.sampled_from(["a", "b.c", "key\\ sp", "k\\=q", "confluent.support.proxy"]),
              st.sampled_from(["=", ":", " ", " = ", "\t:\t", "  "]),
              st.sampled_from(["", "v", "x y ", "\\u00e9t\\u00e9", "c\\\\", "\\ lead"]),
              st.sampled_from(["", "", "\\", "\\\\"])),
)
line_files = st.builds(
    lambda lines, eol, last: eol.join(lines) + (eol if last else ""),
    st.lists(_line, max_size=12), st.sampled_from(["\n", "\r\n"]), st.booleans())
any_file = st.one_of(property_text, line_files)


def _hex_units(text: str) -> str:
    return text.encode("utf-16-be", "surrogatepass").hex()


@pytest.fixture(scope="session")
def java_reader(tmp_path_factory: pytest.TempPathFactory):
    """A function that loads files with the real java.util.Properties (the oracle)."""
    javac = shutil.which("javac")
    assert javac, "javac is needed: the Kafka sandbox needs a JDK anyway"
    out = tmp_path_factory.mktemp("java")
    subprocess.run([javac, "-d", str(out), str(FIXTURES / "PropertiesDump.java")],
                   check=True)

    def read(datas: list[bytes]) -> list[dict[str, str] | None]:
        folder = tmp_path_factory.mktemp("props")
        paths = []
        for number, data in enumerate(datas):
            path = folder / f"{number}.properties"
            path.write_bytes(data)
            paths.append(str(path))
        lines = subprocess.run(["java", "-cp", str(out), "PropertiesDump", *paths],
                               check=True, capture_output=True, text=True).stdout.splitlines()
        assert len(lines) == len(datas)
        results: list[dict[str, str] | None] = []
        for line in lines:
            if line == "ERROR":
                results.append(None)
                continue
            pairs = [item.split(":") for item in line.split(",")] if line else []
            results.append({key: value for key, value in pairs})
        return results

    return read


def _as_hex(props: dict[str, str]) -> dict[str, str]:
    return {_hex_units(key): _hex_units(value) for key, value in props.items()}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(any_file, min_size=40, max_size=40))
def test_reads_exactly_what_java_reads(java_reader, texts: list[str]) -> None:
    expected = java_reader([text.encode("latin-1") for text in texts])
    for text, java in zip(texts, expected, strict=True):
        assert java is not None
        assert _as_hex(load_properties(text)) == java, repr(text)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.text(min_size=1, max_size=12), st.text(max_size=20)),
                min_size=30, max_size=30))
def test_escaped_keys_and_values_read_back_in_java(java_reader, pairs) -> None:
    # One file per pair, so that each pair is judged alone.
    datas = [f"{escape_key(k)}={escape_value(v)}\n".encode("latin-1") for k, v in pairs]
    for (key, value), java in zip(pairs, java_reader(datas), strict=True):
        assert java == _as_hex({key: value}), (key, value)


def test_fixture_files_read_as_java_reads_them(java_reader) -> None:
    names = ["server.properties", "syntax-forms.properties"]
    datas = [(FIXTURES / name).read_bytes() for name in names]
    for data, java in zip(datas, java_reader(datas), strict=True):
        assert _as_hex(load_properties(data.decode("latin-1"))) == java


def test_syntax_forms_decode_as_documented() -> None:
    props = load_properties((FIXTURES / "syntax-forms.properties").read_bytes().decode("latin-1"))
    assert props["plain"] == "value"
    assert props["colon"] == "value"
    assert props["spaced"] == "value with spaces   "
    assert props["tabbed"] == "tab value"
    assert props["whitespace.separator"] == "value by whitespace"
    assert props["formfeed"] == "value"
    assert props["key with spaces"] == "escaped key"
    assert props["key=with:seps"] == "escaped separators in key"
    assert props["escapes"] == 'tab\tnewline\ncr\rff\fbackslash\\ quote" xy'
    assert props["unicode"] == "café 中文 \U0001F600"
    assert props["leading.space"] == "   two leading"
    assert props["empty.equals"] == "" and props["empty.bare"] == ""
    assert props["continued"] == "first second third"
    assert props["continued.escaped.backslash"] == "ends with a backslash\\"
    assert props["not.a.comment"] == "# this line is part of the value"
    assert props["latin1.byte"] == "na\xefve"
    assert props["dup"] == "last"
    assert props["trailing.continuation"] == "end"
    assert not any(key.startswith(("#", "!")) for key in props)


def test_malformed_unicode_escape_is_refused_with_its_line() -> None:
    with pytest.raises(PropertiesSyntaxError, match=r"line 2: malformed \\uXXXX"):
        load_properties("a=1\nb=\\u12G4\n")


@settings(max_examples=400)
@given(any_file)
def test_unchanged_document_gives_the_same_text(text: str) -> None:
    assert parse_properties(text).text == text


def test_unchanged_fixtures_round_trip_byte_for_byte() -> None:
    for name in ["server.properties", "syntax-forms.properties"]:
        text = (FIXTURES / name).read_bytes().decode("latin-1")
        for variant in (text, text.replace("\n", "\r\n")):
            assert parse_properties(variant).text == variant


_KEYS = ["a", "b.c", "key sp", "confluent.support.proxy", "new.key", "k=q"]


@settings(max_examples=400)
@given(any_file, st.sampled_from(_KEYS), st.text(max_size=20))
def test_set_changes_one_value_and_nothing_else(text: str, key: str, value: str) -> None:
    doc = parse_properties(text)
    before = [(e.kind, e.raw) for e in doc.entries]
    others = {k: v for k, v in doc.effective().items() if k != key}
    if doc.set_value(key, value):
        changed = doc.entries.index(doc.find(key))
        after = PropertiesDocument.parse(doc.text)
        assert [(e.kind, e.raw) for i, e in enumerate(after.entries) if i != changed] == \
            [item for i, item in enumerate(before) if i != changed]
    else:
        doc.append_lines([f"{escape_key(key)}={escape_value(value)}"])
        assert doc.text.startswith(text)
        # The one documented loss: a file ending in a lone backslash, which JDK 9+ reads
        # as an empty key, cannot keep that meaning once anything follows it.
        entries = parse_properties(text).entries
        if entries and entries[-1].raw.lstrip(" \t\f").rstrip("\r\n") == "\\":
            others = {e.key: e.value for e in entries[:-1]
                      if e.kind == "property" and e.key != key}
    reread = load_properties(doc.text)
    assert reread[key] == value
    assert {k: v for k, v in reread.items() if k != key} == others


def test_set_keeps_separator_style_and_line_ending() -> None:
    doc = parse_properties("a = 1\r\nb:2\r\nc\t3\r\nd\r\n")
    for key in "abcd":
        doc.set_value(key, "x:y")
    assert doc.text == "a = x:y\r\nb:x:y\r\nc\tx:y\r\nd=x:y\r\n"


def test_set_changes_the_last_duplicate_only() -> None:
    doc = parse_properties("k=1\nk=2\n")
    doc.set_value("k", "3")
    assert doc.text == "k=1\nk=3\n"


def test_set_replaces_a_continued_value_whole() -> None:
    doc = parse_properties("k = one \\\n   two \\\n   three\nz=1\n")
    doc.set_value("k", "new")
    assert doc.text == "k = new\nz=1\n"


def test_values_that_need_escaping_are_escaped() -> None:
    assert escape_value("  lead") == "\\  lead"
    assert escape_value("=x") == "\\=x"
    assert escape_value(":x") == "\\:x"
    assert escape_value("http://h:1/a=b") == "http://h:1/a=b"
    assert escape_value("back\\slash") == "back\\\\slash"
    assert escape_value("é中\U0001F600") == "\\u00E9\\u4E2D\\uD83D\\uDE00"
    assert escape_value("a\tb\n") == "a\\tb\\n"
    assert escape_key("#k y=z") == "\\#k\\ y\\=z"


def test_append_after_a_dangling_continuation_does_not_join_it() -> None:
    doc = parse_properties("a=1\\")
    doc.append_lines(["b=2"])
    assert doc.text == "a=1\\\n\nb=2\n"
    assert load_properties(doc.text) == {"a": "1", "b": "2"}


def test_line_ending_is_the_files_own() -> None:
    assert parse_properties("a=1\r\nb=2\n").line_ending() == "\r\n"
    assert parse_properties("# x\nb=2\r\n").line_ending() == "\n"
    assert parse_properties("a=1").line_ending() == "\n"


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(any_file, min_size=40, max_size=40))
def test_settings_set_never_changes_another_key_as_java_reads_it(java_reader, tmp_path_factory,
                                                                texts: list[str]) -> None:
    """Whatever the file's end (a dangling backslash, a lone CR, no terminator), a save
    either refuses or gives a file that Java reads as before plus the keys set."""
    from engine.config.settings import CUSTOMER_ID, SettingsFile
    from engine.errors import ValidationError

    folder = tmp_path_factory.mktemp("settings")
    cases: list[tuple[str, dict[str, str]]] = []
    for number, text in enumerate(texts + ["log.cleaner.enable = true\\\r",
                                           "a=1\\\r\n\\", "b=2\\"]):
        settings_file = SettingsFile(folder / f"{number}.properties", text.encode("latin-1"))
        try:
            rendered = settings_file.render({CUSTOMER_ID: "c0"})
        except ValidationError:
            continue
        cases.append((rendered, {**settings_file.properties, CUSTOMER_ID: "c0"}))
    read = java_reader([rendered.encode("latin-1") for rendered, _ in cases])
    for (rendered, expected), java in zip(cases, read, strict=True):
        assert java == _as_hex(expected), repr(rendered)


def test_a_file_larger_than_any_broker_config_is_refused_at_once(tmp_path) -> None:
    import time

    from engine.config.settings import load_settings
    from engine.errors import UsageError

    big = tmp_path / "server.properties"
    big.write_bytes(b"k=" + b"\\\n" * (4 * 1024 * 1024))  # 8 MiB of continuations
    started = time.monotonic()
    with pytest.raises(UsageError, match="larger than 1024 KiB"):
        load_settings(big)
    assert time.monotonic() - started < 1
