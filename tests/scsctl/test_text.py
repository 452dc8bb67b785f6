"""Names are checked before they are recorded; everything printed from a record stays on one line."""

from __future__ import annotations

import pytest

from scsctl.errors import UsageError
from scsctl.text import NAME_MAX_CHARS, check_name, printable


def test_printable_escapes_what_would_break_a_line_or_drive_the_terminal() -> None:
    assert printable("ana\nroot/engineer  FAKE") == "ana\\nroot/engineer  FAKE"
    assert printable("\x1b[2J") == "\\x1b[2J"
    assert printable("abc\u202edef") == "abc\\u202edef"  # right-to-left override
    assert printable("C:\\new") == "C:\\\\new"  # a backslash cannot pass for an escape
    assert printable("Dr. Ana Müller") == "Dr. Ana Müller"
    assert printable(42) == "42"
    assert "\n" not in printable("a\r\nb\tc")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("ana\nroot/engineer  FAKE", r"'ana\\nroot/engineer  FAKE' holds characters that are not printable \(\\n\)"),
        ("x" * 100_000, f"100000 characters long: at most {NAME_MAX_CHARS}"),
        ("", "empty"),
        ("   ", "empty"),
        ("ana\x1b[31m", r"not printable \(\\x1b\)"),
        (" ana", "begins or ends with spaces"),
    ],
)
def test_names_are_refused_saying_which_rule_was_broken(name: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        check_name(name)


def test_ordinary_names_pass_unchanged() -> None:
    for name in ("ana", "Dr. Ana Müller", "技师 王", "x" * NAME_MAX_CHARS):
        assert check_name(name) == name
