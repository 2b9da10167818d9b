"""The SOAP partner endpoint (`/services/Soap/u/<v>[/<org id>]`): `login` (in rest_auth) and
the session calls a sync product makes (`logout`, `getUserInfo`, `getServerTimestamp`,
`describeGlobal`). Any other partner call answers Salesforce's fault shape with
`sf:INVALID_OPERATION` (a valid session) or `sf:INVALID_SESSION_ID` (none), never an auth
error; an element the partner WSDL does not have answers `soapenv:Client` as a real org does.

Requests are parsed with defusedxml; answers are built as text in Salesforce's envelope shapes
(element order of the partner WSDL, `xsi:nil` for nulls). SOAP faults are HTTP 500.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

import defusedxml.ElementTree as ET
from werkzeug.wrappers import Response

from . import clock
from .http import Call

PARTNER_NS = "urn:partner.soap.sforce.com"
ENVELOPE = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            f'xmlns="{PARTNER_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            "<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>")
FAULT = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
         'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
         'xmlns:sf="urn:fault.partner.soap.sforce.com" '
         'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
         "<soapenv:Fault><faultcode>{code}</faultcode><faultstring>{string}</faultstring>"
         "{detail}</soapenv:Fault></soapenv:Body></soapenv:Envelope>")
INVALID_SESSION_MSG = "Invalid Session ID found in SessionHeader: Illegal Session"

# Every operation of the partner WSDL: these are Salesforce calls (unsupported ones answer
# INVALID_OPERATION); any other element name is not an operation at all.
PARTNER_OPERATIONS = frozenset((
    "login", "logout", "getUserInfo", "getServerTimestamp", "describeGlobal", "describeSObject",
    "describeSObjects", "describeLayout", "describeTabs", "describeAllTabs", "describeAppMenu",
    "describeTheme", "describeGlobalTheme", "describeCompactLayouts", "describeQuickActions",
    "describeAvailableQuickActions", "describeApprovalLayout", "describeDataCategoryGroups",
    "describeDataCategoryGroupStructures", "describeDataCategoryMappings", "describeKnowledge",
    "describeNouns", "describePathAssistants", "describePrimaryCompactLayouts",
    "describeSearchLayouts", "describeSearchableEntities", "describeSearchScopeOrder",
    "describeSObjectListViews", "describeSoftphoneLayout", "describeVisualForce",
    "create", "update", "upsert", "delete", "deleteByExample", "undelete", "merge",
    "retrieve", "query", "queryAll", "queryMore", "search", "getUpdated", "getDeleted",
    "convertLead", "emptyRecycleBin", "executeListView", "findDuplicates",
    "findDuplicatesByIds", "invalidateSessions", "performQuickActions", "process",
    "renderEmailTemplate", "renderStoredEmailTemplate", "resetPassword", "setPassword",
    "changeOwnPassword", "sendEmail", "sendEmailMessage",
))
# DescribeGlobalSObjectResult in the partner WSDL's element order.
GLOBAL_SOBJECT_FIELDS = (
    "activateable", "associateEntityType", "associateParentEntity", "createable", "custom",
    "customSetting", "deepCloneable", "deletable", "deprecatedAndHidden", "feedEnabled",
    "hasSubtypes", "idEnabled", "isInterface", "isSubtype", "keyPrefix", "label",
    "labelPlural", "layoutable", "mergeable", "mruEnabled", "name", "queryable",
    "replicateable", "retrieveable", "searchable", "triggerable", "undeletable", "updateable")


def _xml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def elements(values: dict[str, Any] | list[tuple[str, Any]]) -> str:
    """`<name>value</name>` for each pair, `<name xsi:nil="true"/>` for None."""
    pairs = values.items() if isinstance(values, dict) else values
    return "".join(f'<{k} xsi:nil="true"/>' if v is None else f"<{k}>{_xml(v)}</{k}>"
                   for k, v in pairs)


def respond(body: str) -> Response:
    return Response(ENVELOPE.format(body=body), status=200, content_type="text/xml;charset=UTF-8")


def fault(code: str, message: str, *, detail_type: str | None = "UnexpectedErrorFault",
          prefix: str = "sf") -> Response:
    """Salesforce's SOAP fault: `sf:CODE` + `CODE: message` + an `sf:<detail_type>`."""
    detail = ""
    if detail_type:
        detail = (f'<detail><sf:{detail_type} xsi:type="sf:{detail_type}"><sf:exceptionCode>'
                  f"{code}</sf:exceptionCode><sf:exceptionMessage>{escape(message)}"
                  f"</sf:exceptionMessage></sf:{detail_type}></detail>")
        string = f"{code}: {message}"
    else:
        string = message
    body = FAULT.format(code=f"{prefix}:{code}", string=escape(string), detail=detail)
    return Response(body, status=500, content_type="text/xml;charset=UTF-8")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse(data: bytes) -> tuple[str, str, str | None] | None:
    """(operation, its namespace, SessionHeader sessionId) of a SOAP request, or None."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return None
    if _local(root.tag) != "Envelope":
        return None
    body = next((el for el in root if _local(el.tag) == "Body"), None)
    operation = next(iter(body), None) if body is not None else None
    if operation is None:
        return None
    namespace = operation.tag[1:].split("}", 1)[0] if operation.tag.startswith("{") else ""
    session_id = None
    header = next((el for el in root if _local(el.tag) == "Header"), None)
    if header is not None:
        for el in header.iter():
            if _local(el.tag) == "sessionId":
                session_id = (el.text or "").strip()
    return _local(operation.tag), namespace, session_id


def endpoint(call: Call, soap_version: str, org_id: str | None = None) -> Response:
    """POST /services/Soap/u/<v> and the login result's serverUrl (…/<v>/<org id>)."""
    from .app import MAX_VERSION
    from .rest_auth import soap_login
    data = call.request.get_data()
    parsed = _parse(data)
    if parsed is not None and parsed[0] == "login":
        return soap_login(call, soap_version)
    if parsed is None:
        return fault("Client", "Unable to parse the SOAP request: expected an Envelope with a "
                     "Body holding one operation", detail_type=None, prefix="soapenv")
    operation, namespace, session_id = parsed
    try:
        major = float(soap_version)
    except ValueError:
        major = 0.0
    if not 20.0 <= major <= MAX_VERSION + 1:
        return fault("UNSUPPORTED_API_VERSION", "Invalid Api version specified on URL")
    if namespace != PARTNER_NS or operation not in PARTNER_OPERATIONS:
        return fault("Client", f"No operation available for request {{{namespace}}}"
                     f"{operation}, please check the WSDL for the service.", detail_type=None,
                     prefix="soapenv")
    session = call.emu.tokens.validate(session_id) if session_id else None
    rt = call.emu.orgs.get(session.org) if session else None
    user = rt.org.user_by_id(session.user_id) if rt else None
    if user is None:
        return fault("INVALID_SESSION_ID", INVALID_SESSION_MSG)
    call.rt, call.user, call.session = rt, user, session
    call.emu.count(rt.org.name, f"POST soap:{operation}")
    allowed, _used = rt.usage.try_consume()
    if not allowed:
        return fault("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    handler = HANDLERS.get(operation)
    if handler is None:
        return fault("INVALID_OPERATION", f"{operation}() is not supported by this emulated "
                     "org; use the REST API")
    return handler(call, session_id)


def _logout(call: Call, session_id: str) -> Response:
    call.emu.tokens.revoke(session_id)
    return respond("<logoutResponse/>")


def _get_user_info(call: Call, _session_id: str) -> Response:
    from .rest_auth import user_info
    return respond(f"<getUserInfoResponse><result>{elements(user_info(call.rt, call.user))}"
                   "</result></getUserInfoResponse>")


def _get_server_timestamp(call: Call, _session_id: str) -> Response:
    stamp = clock.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return respond("<getServerTimestampResponse><result>"
                   f"<timestamp>{stamp}</timestamp></result></getServerTimestampResponse>")


def _describe_global(call: Call, _session_id: str) -> Response:
    schema, profile = call.rt.schema, call.profile
    parts = []
    for obj in sorted(schema.objects.values(), key=lambda o: o.name):
        if not schema.readable(profile, obj):
            continue
        entry = schema.global_entry(profile, obj)
        entry.setdefault("idEnabled", True)
        pairs = [(k, entry.get(k)) for k in GLOBAL_SOBJECT_FIELDS]
        parts.append(f"<sobjects>{elements(pairs)}</sobjects>")
    return respond("<describeGlobalResponse><result><encoding>UTF-8</encoding>"
                   f"<maxBatchSize>200</maxBatchSize>{''.join(parts)}</result>"
                   "</describeGlobalResponse>")


HANDLERS = {"logout": _logout, "getUserInfo": _get_user_info,
            "getServerTimestamp": _get_server_timestamp, "describeGlobal": _describe_global}
