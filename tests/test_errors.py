"""Messages stay one printable line whatever a file's names hold."""

from __future__ import annotations

import json

import pytest

from vaecheck.errors import MAX_MESSAGE_CHARACTERS, VaecheckError, printable
from vaecheck.readers.model import MAX_JSON_NESTING, parse_json


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("dec_out", "dec_out"),
        ("décodeur 出力 😀", "décodeur 出力 😀"),
        ("a\nb", "a\\nb"),
        ("\r\t", "\\r\\t"),
        ("\x1b[2Jclean", "\\x1b[2Jclean"),
        ("\x7f\x85", "\\x7f\\x85"),
        ("abc\u202edcb", "abc\\u202edcb"),
        ("\u2066x\u2069\u2028", "\\u2066x\\u2069\\u2028"),
    ],
)
def test_printable_escapes_controls_separators_and_bidi(name, shown):
    assert printable(name) == shown


def test_printable_keeps_the_start_and_the_end_of_a_long_name():
    shown = printable("a" * 1000 + "z" * 1000, limit=100)
    assert len(shown) <= 100 and shown.startswith("aaa") and shown.endswith("zzz") and "…" in shown


def test_an_error_is_one_line_of_bounded_length():
    error = VaecheckError("a layer refers to '" + "x\n" * 10**6 + "'", "m\n.keras")
    message = str(error)
    assert "\n" not in message and len(message) <= MAX_MESSAGE_CHARACTERS
    assert message.startswith("m\\n.keras: a layer refers to 'x\\nx\\n") and message.endswith("'")


def test_configuration_strings_are_printable_after_parsing():
    text = json.dumps({"name": "out\n::error::x", "layers": [{"name": "\u202e"}], "ok": "é"})
    parsed = parse_json(text, "m.keras", "config.json")
    assert parsed == {"name": "out\\n::error::x", "layers": [{"name": "\\u202e"}], "ok": "é"}


def test_nesting_is_counted_outside_strings_only():
    brackets_in_a_string = json.dumps({"doc": "[{" * 2000, "layers": [[[1]]]})
    assert parse_json(brackets_in_a_string, "m.keras", "config.json")["layers"] == [[[1]]]
    escaped_quote = '{"doc": "\\"' + "[" * 2000 + '", "x": 1}'
    assert parse_json(escaped_quote, "m.keras", "config.json")["x"] == 1
    deep = "[" * (MAX_JSON_NESTING + 1) + "]" * (MAX_JSON_NESTING + 1)
    with pytest.raises(VaecheckError, match=f"nested more than {MAX_JSON_NESTING} levels"):
        parse_json(deep, "m.keras", "config.json")
    assert parse_json("[" * MAX_JSON_NESTING + "]" * MAX_JSON_NESTING, "m.keras", "config.json")
