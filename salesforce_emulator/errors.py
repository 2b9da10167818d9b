"""Salesforce-shaped errors. REST bodies are lists of {message, errorCode, fields}."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SfError(Exception):
    """One Salesforce error; `status` is the HTTP status when it fails a whole request."""

    code: str
    message: str
    fields: list[str] = field(default_factory=list)
    status: int = 400

    def rest(self, with_fields: bool = True) -> dict:
        body: dict = {"message": self.message, "errorCode": self.code}
        if with_fields:
            body["fields"] = list(self.fields)
        return body

    def record(self) -> dict:
        """The per-record shape used inside collection/upsert results."""
        return {"statusCode": self.code, "message": self.message, "fields": list(self.fields)}


class RequestError(SfError):
    """An error that fails the whole request (e.g. JSON_PARSER_ERROR), never one record."""


def not_found(message: str = "The requested resource does not exist") -> RequestError:
    return RequestError("NOT_FOUND", message, status=404)


ROLLED_BACK = ("Record rolled back because not all records were valid and the request was "
               "using AllOrNone header")
