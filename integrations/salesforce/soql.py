"""Building SOQL safely: user input is never pasted raw into a query."""

from __future__ import annotations


def soql_quote(value: str) -> str:
    """A SOQL string literal with backslashes and quotes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
