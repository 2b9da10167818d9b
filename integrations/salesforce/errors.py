"""Our own Salesforce exceptions. Classified once, here, so callers only ask: can a retry help?

- RETRYABLE: lock contention, 5xx, timeouts, dropped connections → back off and retry.
- QUOTA: the org's API allowance is spent → the governor pauses the connection until reset.
- AUTH: the session is invalid → refresh once; if that fails, the connection needs a reconnect.
- PERMANENT: validation, required field, bad picklist, access, a record locked by an approval
  process (ENTITY_IS_LOCKED: an approval can take days) → fix the data, the mapping or the
  record in Salesforce; retrying as is would only burn quota.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    RETRYABLE = "retryable"
    QUOTA = "quota"
    AUTH = "auth"
    PERMANENT = "permanent"


RETRYABLE_CODES = frozenset({
    "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_RUNNING_TOO_LONG", "QUERY_TIMEOUT",
    "CONCURRENT_REQUESTS_LIMIT_EXCEEDED", "TIMEOUT", "CONNECTION_ERROR",
})
QUOTA_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "TOTAL_REQUESTS_LIMIT_EXCEEDED", "EXCEEDED_ID_LIMIT"})
AUTH_CODES = frozenset({"INVALID_SESSION_ID", "invalid_grant", "INVALID_AUTH_HEADER", "inactive_user", "invalid_client"})

# The seed's troubleshooting tables, as fix hints a person can act on.
HINTS: dict[str, str] = {
    "INVALID_SESSION_ID": "The Salesforce session expired or was revoked. Click Refresh Connection; if that fails, reconnect the integration.",
    "invalid_grant": "Salesforce refused the credentials or the refresh token (password changed, token revoked, or sandbox refreshed). Reconnect the integration.",
    "invalid_client": "The connected app's client id or secret is wrong, or the app is not approved. Check Setup › App Manager.",
    "REQUIRED_FIELD_MISSING": "A field required in Salesforce has no value. Add a field mapping for it or make the field optional in Salesforce.",
    "INVALID_CROSS_REFERENCE_KEY": "A referenced record does not exist in Salesforce. Make sure the parent record (e.g. the Account) syncs first, or re-link it.",
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": "A Salesforce validation rule rejected the record. Adjust the rule or provide compliant data in Cothon.",
    "UNABLE_TO_LOCK_ROW": "The record is locked by another process in Salesforce. Cothon retries automatically after a short wait.",
    "REQUEST_LIMIT_EXCEEDED": "The org's daily API limit is reached. Sync pauses until capacity returns; reduce sync frequency or add filters to use fewer calls.",
    "INSUFFICIENT_ACCESS_OR_READONLY": "The integration user lacks permission. Grant the object and field permissions listed in the setup guide to its profile.",
    "INSUFFICIENT_ACCESS": "The integration user lacks permission. Grant the object and field permissions listed in the setup guide to its profile.",
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": "The value is not in the Salesforce picklist. Fix the stage or picklist mapping in Settings › Integrations.",
    "INVALID_FIELD": "A mapped field does not exist or is not visible to the integration user. Check the field's API name and field-level security.",
    "INVALID_FIELD_FOR_INSERT_UPDATE": "A mapped field is read-only for the integration user. Grant edit access or remove the mapping.",
    "STRING_TOO_LONG": "A value is longer than the Salesforce field allows. Shorten it or widen the field in Salesforce.",
    "DUPLICATE_VALUE": "Another Salesforce record already has this unique value (often Cothon_Ref__c). Link or merge the duplicate.",
    "ENTITY_IS_LOCKED": "The record is locked by an approval process in Salesforce, so the integration user cannot edit it. Complete the approval or recall it in Salesforce, then click Sync on the record. Cothon does not retry it by itself: an approval can take days.",
    "ENTITY_IS_DELETED": "The record was deleted in Salesforce. In the record's Salesforce panel, Re-link it to another Salesforce record (search by title, reference or close date), Re-create it in Salesforce, or Skip it; Sync › Deleted in Salesforce skips or re-creates many at once.",
    "NOT_FOUND": "The record was not found in Salesforce (deleted?). In the record's Salesforce panel, Re-link it to another Salesforce record or Skip it.",
    "INVALID_TYPE": "The object does not exist in the org or is not visible to the integration user. Install the Cothon custom objects or check permissions.",
    "MALFORMED_QUERY": "The SOQL query is not valid. Check the query in the integration settings.",
    "TIMEOUT": "Salesforce did not answer in time. Cothon retries automatically.",
    "CONNECTION_ERROR": "Salesforce could not be reached. Cothon retries automatically.",
    "SERVER_UNAVAILABLE": "Salesforce is temporarily unavailable. Cothon retries automatically.",
    "VALUE_TOO_LONG": "The text is longer than the Salesforce field and was not sent (Cothon never cuts it). Shorten it in Cothon, or widen the field in Salesforce (Setup › Object Manager), then sync again.",
    "UNSUPPORTED_RECORD_TYPE": "Cothon has no Salesforce sync for this kind of record yet; the change is kept in the log but not sent.",
}


# The seed's "Common Salesforce errors" table: what a code means and what fixes it, in a
# line each (the sync health page lists errors by code with these). Codes it does not name
# fall back on HINTS (error_meaning).
MEANINGS: dict[str, tuple[str, str]] = {
    "REQUIRED_FIELD_MISSING": ("Required field not provided", "Add field mapping or make field optional"),
    "INVALID_CROSS_REFERENCE_KEY": ("Referenced record doesn't exist", "Ensure parent record (Account) exists first"),
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": ("Validation rule failed", "Adjust validation rule or provide compliant data"),
    "UNABLE_TO_LOCK_ROW": ("Record locked by another process", "Retry sync after a few minutes"),
    "REQUEST_LIMIT_EXCEEDED": ("API limit reached", "Wait for limit reset"),
    "INSUFFICIENT_ACCESS": ("User lacks permissions", "Grant permissions to integration user"),
}
DEFAULT_HINT = "See the Salesforce error message; fix the record or mapping and sync again."


def error_meaning(code: str) -> tuple[str, str]:
    """(meaning, fix) of a Salesforce error code: the seed's table, else the hint catalogue
    (its first sentence is the meaning, the rest the fix), else a generic fix."""
    if code in MEANINGS:
        return MEANINGS[code]
    hint = HINTS.get(code)
    if not hint:
        return "", DEFAULT_HINT
    first, dot, rest = hint.partition(". ")
    return (first + ".", rest.strip()) if dot and rest.strip() else ("", hint)


def classify(code: str, status: int | None = None) -> ErrorKind:
    if code in QUOTA_CODES:
        return ErrorKind.QUOTA
    if code in AUTH_CODES or status == 401:
        return ErrorKind.AUTH
    if code in RETRYABLE_CODES or (status is not None and status >= 500):
        return ErrorKind.RETRYABLE
    return ErrorKind.PERMANENT


class SalesforceError(Exception):
    """A Salesforce call failed. `kind` says what can help; `hint` says what a person can do."""

    def __init__(self, code: str, message: str, *, status: int | None = None, fields: list[str] | None = None,
                 kind: ErrorKind | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields or []
        self.kind = kind or classify(code, status)

    @property
    def retryable(self) -> bool:
        return self.kind is ErrorKind.RETRYABLE

    @property
    def hint(self) -> str:
        return HINTS.get(self.code, DEFAULT_HINT)


class SalesforceAuthError(SalesforceError):
    """The connection's credentials no longer work: it needs a reconnect."""

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(code, message, status=status, kind=ErrorKind.AUTH)


class SalesforceQuotaError(SalesforceError):
    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(code, message, status=status, kind=ErrorKind.QUOTA)
