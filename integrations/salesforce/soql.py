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


class PlaceholderError(ValueError):
    """A `:name` placeholder the caller gave no value for (the message names it and its position)."""

    def __init__(self, name: str, position: int) -> None:
        self.name = name
        self.position = position
        super().__init__(f"Unknown placeholder :{name} at position {position + 1}.")


def soql_bind(soql: str, values: dict[str, str]) -> str:
    """The query with each `:name` placeholder outside string literals replaced by its value as a
    quoted SOQL literal (`soql_quote`) — an admin's query filtered by a member's identifier
    (`:user_identifier`) can never be turned into another query by the identifier's text.

    A placeholder is a colon followed by a letter or underscore and not preceded by a word
    character, so date literals (`LAST_N_DAYS:7`, `2026-01-01T10:00:00Z`) are left alone; text
    inside '...' literals is copied as is. An unknown placeholder raises PlaceholderError."""
    out: list[str] = []
    i, n = 0, len(soql)
    while i < n:
        char = soql[i]
        if char == "'":
            end = i + 1
            while end < n and soql[end] != "'":
                end += 2 if soql[end] == "\\" else 1
            out.append(soql[i:end + 1])
            i = end + 1
            continue
        if char == ":" and i + 1 < n and (soql[i + 1].isalpha() or soql[i + 1] == "_") and not (i and (soql[i - 1].isalnum() or soql[i - 1] == "_")):
            end = i + 1
            while end < n and (soql[end].isalnum() or soql[end] == "_"):
                end += 1
            name = soql[i + 1:end]
            if name not in values:
                raise PlaceholderError(name, i)
            out.append(soql_quote(str(values[name])))
            i = end
            continue
        out.append(char)
        i += 1
    return "".join(out)
