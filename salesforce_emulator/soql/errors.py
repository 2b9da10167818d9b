"""SOQL errors, worded and positioned as Salesforce words them.

Salesforce echoes the offending line of the query with a caret under the error, then the row
and column (both 1-based), then the reason, e.g. for `SELECT Id FROM`:

    "\\nSELECT Id FROM\\n              ^\\nERROR at Row:1:Column:15\\nunexpected token: '<EOF>'"

(captured bodies: CumulusCI's INVALID_TYPE cassette, forcedotcom/salesforce-functions tests for
INVALID_FIELD, the Force.com WSC tests for the quoted '<EOF>'). Only the line holding the error
is echoed for a multi-line query. For very long lines Salesforce shows a window of the line; the
emulator echoes the whole line, which keeps Row/Column (what clients parse) exact.
"""

from __future__ import annotations

from typing import Any

# Error codes (REST `errorCode`).
MALFORMED_QUERY = "MALFORMED_QUERY"
INVALID_TYPE = "INVALID_TYPE"
INVALID_FIELD = "INVALID_FIELD"
NUMBER_OUTSIDE_VALID_RANGE = "NUMBER_OUTSIDE_VALID_RANGE"

_WSDL_HINT = "Please reference your WSDL or the describe call for the appropriate names."


class SoqlError(Exception):
    """A query Salesforce would refuse with HTTP 400 and `[{"message", "errorCode"}]`."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message

    def as_error_body(self) -> list[dict[str, Any]]:
        """The REST error body for this error."""
        return [{"message": self.message, "errorCode": self.error_code}]

    def __repr__(self) -> str:
        return f"SoqlError({self.error_code!r}, {self.message!r})"


def row_column(text: str, pos: int) -> tuple[int, int]:
    """1-based row and column of a character offset."""
    row = text.count("\n", 0, pos) + 1
    line_start = text.rfind("\n", 0, pos) + 1
    return row, pos - line_start + 1


def positioned(text: str, pos: int, error_code: str, reason: str) -> SoqlError:
    """An error whose message echoes the line at `pos` with a caret, as Salesforce does."""
    pos = max(0, min(pos, len(text)))
    row, column = row_column(text, pos)
    line_start = pos - column + 1
    line_end = text.find("\n", pos)
    line = text[line_start : len(text) if line_end < 0 else line_end].rstrip("\r")
    caret = " " * (column - 1) + "^"
    message = f"\n{line}\n{caret}\nERROR at Row:{row}:Column:{column}\n{reason}"
    return SoqlError(error_code, message)


def unexpected_token(text: str, pos: int, token: str) -> SoqlError:
    return positioned(text, pos, MALFORMED_QUERY, f"unexpected token: '{token}'")


def no_such_object(text: str, pos: int, name: str) -> SoqlError:
    return positioned(
        text,
        pos,
        INVALID_TYPE,
        f"sObject type '{name}' is not supported. If you are attempting to use a custom object, "
        f"be sure to append the '__c' after the entity name. {_WSDL_HINT}",
    )


def no_such_column(text: str, pos: int, name: str, entity: str) -> SoqlError:
    return positioned(
        text,
        pos,
        INVALID_FIELD,
        f"No such column '{name}' on entity '{entity}'. If you are attempting to use a custom "
        f"field, be sure to append the '__c' after the custom field name. {_WSDL_HINT}",
    )


def unknown_relationship(text: str, pos: int, name: str) -> SoqlError:
    return positioned(
        text,
        pos,
        INVALID_FIELD,
        f"Didn't understand relationship '{name}' in field path. If you are attempting to use a "
        f"custom relationship, be sure to append the '__r' after the custom relationship name. "
        f"{_WSDL_HINT}",
    )


def unknown_child_relationship(text: str, pos: int, name: str) -> SoqlError:
    return positioned(
        text,
        pos,
        INVALID_TYPE,
        f"Didn't understand relationship '{name}' in FROM part of query call. If you are "
        f"attempting to use a custom relationship, be sure to append the '__r' after the custom "
        f"relationship name. {_WSDL_HINT}",
    )


def wrong_value_type(
    text: str, pos: int, field_name: str, soap_type: str, *, should_quote: bool
) -> SoqlError:
    """A literal of the wrong kind for the field, e.g. a quoted date or an unquoted name."""
    tail = "should be enclosed in quotes" if should_quote else "should not be enclosed in quotes"
    return positioned(
        text,
        pos,
        INVALID_FIELD,
        f"value of filter criterion for field '{field_name}' must be of type {soap_type} and {tail}",
    )
