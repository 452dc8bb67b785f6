"""Text that came from someone else, made safe to store and to print.

Names people give (the operator) are checked before anything is recorded: printable characters
only, at most ``NAME_MAX_CHARS``, so that a name cannot carry a line break that forges a line of
``scsctl log show`` nor bury the log in a 100,000-character field. Everything else that is printed
from a record (device serials, error texts, details) is escaped on the way out by ``printable``:
a record is shown as it is stored, but never as more than one line, and never with terminal
control sequences.
"""

from __future__ import annotations

__all__ = ["NAME_MAX_CHARS", "check_name", "printable"]

NAME_MAX_CHARS = 64


def printable(text: object) -> str:
    """``text`` on one line: anything that is not a printable character is written as an escape.

    ``"ana\\nroot"`` prints as ``ana\\nroot`` (a backslash and an n), ESC as ``\\x1b``, a
    right-to-left override as ``\\u202e``. A backslash itself is doubled only where it would
    otherwise read as one of these escapes, so ordinary paths print unchanged.
    """
    value = text if isinstance(text, str) else str(text)
    if value.isprintable() and "\\" not in value:
        return value
    out: list[str] = []
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def check_name(text: str, what: str = "operator") -> str:
    """A person's name as given (``--operator``): printable, not blank, at most 64 characters.

    Raises ``UsageError`` saying which rule was broken (showing the name escaped); nothing is
    stripped or shortened behind the user's back.
    """
    from .errors import UsageError

    if not isinstance(text, str) or not text.strip():
        raise UsageError(f"{what} name is empty: give the name of the person at the controls")
    if len(text) > NAME_MAX_CHARS:
        raise UsageError(
            f"{what} name is {len(text)} characters long: at most {NAME_MAX_CHARS} are allowed "
            f"(it begins '{printable(text[:20])}...')"
        )
    if not text.isprintable():
        bad = sorted({ch for ch in text if not ch.isprintable()})
        shown = ", ".join(ch.encode("unicode_escape").decode("ascii") for ch in bad)
        raise UsageError(
            f"{what} name '{printable(text)}' holds characters that are not printable ({shown}): "
            "a name is one line of visible characters"
        )
    if text != text.strip():
        raise UsageError(f"{what} name {text!r} begins or ends with spaces: give it without them")
    return text
