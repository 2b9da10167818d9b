import json
from pathlib import Path

import pytest
import requests
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceGeneralError, SalesforceMalformedRequest, SalesforceRefusedRequest

from integrations.salesforce.client import translate_error
from integrations.salesforce.errors import ErrorKind, SalesforceAuthError, SalesforceQuotaError
from integrations.salesforce.limits import parse_limit_info

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "salesforce"


def test_it_parses_the_limit_info_header():
    usage = parse_limit_info("api-usage=18/5000; per-app-api-usage=17/250(appName=sample)")
    assert (usage.used, usage.allowance, usage.remaining) == (18, 5000, 4982)
    assert parse_limit_info(None) is None and parse_limit_info("garbage") is None


def test_an_expired_session_is_an_auth_error():
    body = json.loads((FIXTURES / "expired_session_response.json").read_text())
    error = translate_error(SalesforceExpiredSession("u", 401, "r", body))
    assert isinstance(error, SalesforceAuthError) and error.code == "INVALID_SESSION_ID" and not error.retryable


def test_request_limit_exceeded_is_a_quota_error():
    body = [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}]
    error = translate_error(SalesforceRefusedRequest("u", 403, "r", body))
    assert isinstance(error, SalesforceQuotaError) and error.kind is ErrorKind.QUOTA
    assert "API limit" in error.hint


@pytest.mark.parametrize("code", ["UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"])
def test_lock_contention_and_unavailability_are_retryable(code):
    error = translate_error(SalesforceMalformedRequest("u", 400, "r", [{"errorCode": code, "message": "m"}]))
    assert error.retryable


def test_5xx_timeouts_and_dropped_connections_are_retryable():
    assert translate_error(SalesforceGeneralError("u", 503, "r", "Service Unavailable")).retryable
    assert translate_error(requests.Timeout("slow")).retryable
    assert translate_error(requests.ConnectionError("reset")).retryable


@pytest.mark.parametrize("code", ["REQUIRED_FIELD_MISSING", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                  "FIELD_CUSTOM_VALIDATION_EXCEPTION", "INSUFFICIENT_ACCESS_OR_READONLY"])
def test_data_and_permission_errors_are_permanent_with_a_hint(code):
    error = translate_error(SalesforceMalformedRequest("u", 400, "r", [{"errorCode": code, "message": "m", "fields": ["StageName"]}]))
    assert error.kind is ErrorKind.PERMANENT and not error.retryable
    assert error.fields == ["StageName"] and len(error.hint) > 20


def test_an_oauth_error_body_is_translated():
    body = json.loads((FIXTURES / "refresh_error_response.json").read_text())
    error = translate_error(SalesforceMalformedRequest("u", 400, "r", body))
    assert error.code == "invalid_grant" and error.kind is ErrorKind.AUTH


def test_a_record_locked_by_an_approval_is_permanent_with_a_hint_naming_the_approval():
    body = [{"message": "This record is locked. If you need to edit it, contact your admin",
             "errorCode": "ENTITY_IS_LOCKED", "fields": []}]
    error = translate_error(SalesforceMalformedRequest("u", 400, "r", body))
    assert error.code == "ENTITY_IS_LOCKED" and error.kind is ErrorKind.PERMANENT and not error.retryable
    assert "approval process" in error.hint and "recall it in Salesforce" in error.hint
