"""Outbound Messages: the SOAP 1.1 ``notifications`` envelope sent to an endpoint.

Kept apart so that the wire format (what a listener receives, and the Ack it must answer)
lives in one place, separate from rule evaluation and the delivery worker.
"""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape

from .outbound_rules import Rule

ACK_RE = re.compile(r"<(?:[\w.-]+:)?Ack>\s*true\s*</(?:[\w.-]+:)?Ack>", re.IGNORECASE)


# -- SOAP -------------------------------------------------------------------------------------
def _xml_value(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str) and len(value) == 28 and value[10] == "T" and \
            value.endswith("+0000"):
        return escape(value[:-5] + "Z")
    return escape(str(value))


def soap_payload(emu: Any, rule: Rule, notifications: list[dict[str, str]],
                 session_id: str | None) -> str:
    rt = emu.orgs[rule.org]
    org15 = rt.org.org_id15
    base = emu.instance_url
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n',
        " <soapenv:Body>\n",
        '  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">\n',
        f"   <OrganizationId>{rt.org.org_id}</OrganizationId>\n",
        f"   <ActionId>{rule.action_id or rule.id}</ActionId>\n",
        f"   <SessionId>{escape(session_id)}</SessionId>\n" if session_id
        else '   <SessionId xsi:nil="true"/>\n',
        f"   <EnterpriseUrl>{escape(base)}/services/Soap/c/{rule.api_version}/{org15}"
        "</EnterpriseUrl>\n",
        f"   <PartnerUrl>{escape(base)}/services/Soap/u/{rule.api_version}/{org15}"
        "</PartnerUrl>\n",
    ]
    found = rt.store.get_many([n["record_id"] for n in notifications])
    for note in notifications:
        record = found.get(note["record_id"])
        data = record[2] if record else {"Id": note["record_id"]}
        parts.append("   <Notification>\n")
        parts.append(f"    <Id>{note['id']}</Id>\n")
        parts.append(f'    <sObject xsi:type="sf:{rule.object}" '
                     'xmlns:sf="urn:sobject.enterprise.soap.sforce.com">\n')
        for fname in rule.fields:
            value = data.get(fname)
            if value is None:
                parts.append(f'     <sf:{fname} xsi:nil="true"/>\n')
            else:
                parts.append(f"     <sf:{fname}>{_xml_value(value)}</sf:{fname}>\n")
        parts.append("    </sObject>\n")
        parts.append("   </Notification>\n")
    parts.append("  </notifications>\n </soapenv:Body>\n</soapenv:Envelope>\n")
    return "".join(parts)
