"""Building SOQL safely: user input is never pasted raw into a query."""

from __future__ import annotations


def soql_quote(value: str) -> str:
    """A SOQL string literal with backslashes and quotes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def soql_like_contains(value: str) -> str:
    """A LIKE pattern matching text that contains `value` literally: its own % and _ are
    escaped, so "50%" finds "50%" and not "50 anything"."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("%", "\\%").replace("_", "\\_")
    return "'%" + escaped + "%'"
