"""The record viewer's Setup page for process automation: the org's flows (every version, with
its status, trigger and entry conditions), outbound messages and workflow rules, as created
through the Tooling API. ``/lightning/setup/Flows/home?org=<name>`` (the path of Setup › Flows
on a real org); loopback only and read-only (record pages have Edit: viewer_edit.py)."""

from __future__ import annotations

from typing import Any

from . import editions
from .http import Call
from .pages import esc, page

OPERATOR_SIGNS = {"EqualTo": "=", "NotEqualTo": "≠", "GreaterThan": ">", "LessThan": "<",
                  "GreaterThanOrEqualTo": "≥", "LessThanOrEqualTo": "≤",
                  "IsNull": "is null", "Contains": "contains", "StartsWith": "starts with"}
TRIGGERS = {"Create": "A record is created", "Update": "A record is updated",
            "CreateAndUpdate": "A record is created or updated"}


def _value(value: dict[str, Any]) -> str:
    if not value:
        return "(blank)"
    key, raw = next(iter(value.items()))
    if key == "numberValue" or key == "booleanValue":
        return str(raw).lower() if isinstance(raw, bool) else f"{raw:g}"
    return f"“{raw}”"


def conditions_text(start: dict[str, Any]) -> str:
    """'StageName = “Proposal” AND Amount > 10000' (custom logic: numbered conditions)."""
    filters = start.get("filters") or []
    if not filters:
        return "None (every save)"
    parts = [f"{f['field']} {OPERATOR_SIGNS.get(f['operator'], f['operator'])} "
             f"{_value(f['value'])}" for f in filters]
    logic = start.get("filterLogic") or "and"
    if logic in ("and", "or"):
        return f" {logic.upper()} ".join(parts)
    return f"{logic}: " + "; ".join(f"{n}. {p}" for n, p in enumerate(parts, start=1))


def _flows(rt: Any) -> str:
    from .tooling_flow_api import load
    state = load(rt)
    names = {d["id"]: d["name"] for d in state["definitions"]}
    rows = []
    for version in sorted(state["versions"], key=lambda v: (names[v["definition_id"]].lower(),
                                                            -v["version"])):
        meta = version["metadata"]
        start = meta["start"]
        when = TRIGGERS[start["recordTriggerType"]]
        if start["doesRequireRecordChangedToMeetCriteria"]:
            when += ", only when updated to meet the conditions"
        sends = ", ".join(a["actionName"] for a in meta["actionCalls"]) or "—"
        status = version["status"]
        badge = f"<b>{esc(status)}</b>" if status == "Active" else esc(status)
        rows.append(f"<tr><td>{esc(meta['label'])}<div class=\"muted\">"
                    f"{esc(names[version['definition_id']])}</div></td>"
                    f"<td>{version['version']}</td><td>{badge}</td>"
                    f"<td>{esc(start['object'])}</td><td>{esc(when)}</td>"
                    f"<td>{esc(conditions_text(start))}</td><td>{esc(sends)}</td></tr>")
    head = ("<tr><th>Flow</th><th>Version</th><th>Status</th><th>Object</th>"
            "<th>Trigger</th><th>Entry conditions</th><th>Outbound messages</th></tr>")
    return _card("Flows", rows, head, "No flows. Create them with POST "
                 "tooling/sobjects/Flow.")


def _messages(rt: Any, state: dict[str, Any]) -> str:
    rows = []
    for message in sorted(state["messages"], key=lambda m: m["name"].lower()):
        meta = message["metadata"]
        rows.append(f"<tr><td>{esc(meta['name'])}<div class=\"muted\">"
                    f"{esc(message['object'])}.{esc(message['name'])}</div></td>"
                    f"<td>{esc(meta['endpointUrl'])}</td><td>{esc(', '.join(meta['fields']))}"
                    f"</td><td>{esc(meta['integrationUser'])}</td></tr>")
    head = ("<tr><th>Outbound message</th><th>Endpoint URL</th><th>Fields sent</th>"
            "<th>User to send as</th></tr>")
    return _card("Outbound messages", rows, head, "No outbound messages.")


def _rules(state: dict[str, Any]) -> str:
    rows = []
    for rule in sorted(state["rules"], key=lambda r: r["name"].lower()):
        meta = rule["metadata"]
        criteria = " AND ".join(f"{c['field']} {c['operation']} {c['value']}"
                                for c in meta["criteriaItems"]) or f"formula {meta['formula']}"
        if meta["booleanFilter"]:
            criteria = f"{meta['booleanFilter']}: {criteria}"
        actions = ", ".join(a["name"] for a in meta["actions"])
        rows.append(f"<tr><td>{esc(rule['name'])}</td><td>{esc(rule['object'])}</td>"
                    f"<td>{'Active' if meta['active'] else 'Inactive'}</td>"
                    f"<td>{esc(meta['triggerType'])}</td><td>{esc(criteria)}</td>"
                    f"<td>{esc(actions)}</td></tr>")
    head = ("<tr><th>Workflow rule</th><th>Object</th><th>Status</th><th>Evaluation</th>"
            "<th>Criteria</th><th>Outbound messages</th></tr>")
    return _card("Workflow rules", rows, head, "No workflow rules.")


def _card(title: str, rows: list[str], head: str, empty: str) -> str:
    table = f"<table>{head}{''.join(rows)}</table>" if rows else \
        f'<p class="muted">{esc(empty)}</p>'
    return (f'<div class="card"><h2>{esc(title)} ({len(rows)})</h2><div class="body">{table}'
            "</div></div>")


def automation(call: Call):
    org = call.request.args.get("org") or call.emu.default_org
    rt = call.emu.orgs.get(org)
    if rt is None:
        return page("Not found", "Salesforce", '<div class="card"><div class="body">Unknown '
                    "org.</div></div>", 404)
    from .tooling_workflow_api import load
    edition = editions.edition_of(rt)
    refused = editions.automation_error(rt, "Flows, workflow rules and outbound messages")
    banner = f'<div class="error">{esc(refused.message)}</div>' if refused else ""
    state = load(rt)
    content = (f'{banner}<div class="card"><div class="rec-head"><span class="icon"></span><div>'
               f"<small>Setup · {esc(edition)}</small><h1>Process automation</h1></div></div>"
               f"</div>{_flows(rt)}{_messages(rt, state)}{_rules(state)}")
    return page("Flows | Setup", rt.org.organization.get("Name", org), content)


def register(router) -> None:
    router.add("/lightning/setup/Flows/home", ["GET"], automation, auth="none")
