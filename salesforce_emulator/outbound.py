"""Outbound Messages: workflow-style rules that push SOAP `notifications` to an endpoint.

A rule names an object, a criterion ("field equals value") plus optional extra conditions
(field op value), an evaluation mode, an endpoint URL, the fields to send and whether to send a
session id. Rules come from the org definition (``outbound_messages:`` in orgs/*.yaml), from
the test hook ``POST /_emulator/outbound/rules``, from WorkflowRule + WorkflowOutboundMessage
created through the Tooling API (``tooling_workflow_api``), or from the outbound-message
actions of active record-triggered Flows (``tooling_flow_api``). They are evaluated on every
committed record write whatever the API (REST, collections, composite, Bulk 2.0), through a
store listener.

Evaluation modes (Salesforce workflow semantics):
  created                            on create, when the record meets the criteria
  created_and_every_edit             on create and on every edit, when it meets them
  created_and_edit_to_meet_criteria  on create when met; on an edit that makes it newly meet them
  edit_to_meet_criteria              only on an edit that makes it newly meet them (the Scoro
                                     seed's flow: a record created already at the stage does
                                     not fire)
  every_edit                         on every edit that leaves it meeting them, never on create
                                     (a flow triggered on Update without "only when updated to
                                     meet the condition requirements")

Delivery: a worker thread POSTs SOAP 1.1 messages (1-100 notifications each, the record's
current field values at send time, as Salesforce does). Success only when the answer holds
``<Ack>true</Ack>``; otherwise retries at growing intervals (retry_base_seconds doubling, capped
at retry_max_seconds) until expiry_hours (24) on the emulator clock have passed. Endpoints must
be loopback addresses unless allow_non_loopback is set: the emulator never POSTs off-machine.
Each attempt is logged (``GET/DELETE /_emulator/outbound/deliveries``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from . import clock
from .http import Call, json_response
from .outbound_rules import RuleError
from .outbound_service import Outbound

_SERVICES: dict[int, Outbound] = {}


def service(emu: Any) -> Outbound:
    found = _SERVICES.get(id(emu))
    if found is None:
        found = _SERVICES[id(emu)] = Outbound(emu)
    return found


def attach(emu: Any) -> None:
    service(emu)


def start(emu: Any) -> None:
    service(emu).start()


def stop(emu: Any) -> None:
    service(emu).stop()


def reset(emu: Any, org: str | None) -> None:
    service(emu).reset(org)


# -- test hooks -------------------------------------------------------------------------------
def _body(call: Call) -> dict[str, Any]:
    if not call.request.get_data():
        return {}
    body = call.json()
    return body if isinstance(body, dict) else {}


def rules_hook(call: Call, rule_id: str | None = None):
    svc = service(call.emu)
    method = call.request.method
    if method == "POST":
        try:
            rule = svc.add_rule(_body(call))
        except RuleError as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(rule.public(), 201)
    if method == "DELETE":
        if rule_id is not None and rule_id not in svc.rules:
            return json_response({"error": f"unknown rule {rule_id}"}, 404)
        removed = svc.remove_rules(rule_id, call.request.args.get("org"))
        return json_response({"removed": removed})
    org = call.request.args.get("org")
    return json_response([r.public() for r in svc.rules.values()
                          if org is None or r.org == org])


def deliveries_hook(call: Call):
    svc = service(call.emu)
    org = call.request.args.get("org")
    if call.request.method == "DELETE":
        return json_response({"cleared": svc.clear_deliveries(org)})
    return json_response(svc.deliveries(org, call.request.args.get("rule")))


def settings_hook(call: Call):
    svc = service(call.emu)
    if call.request.method == "POST":
        body = _body(call)
        for key, value in body.items():
            if not hasattr(svc.settings, key):
                return json_response({"error": f"unknown setting {key}"}, 400)
            current = getattr(svc.settings, key)
            setattr(svc.settings, key, bool(value) if isinstance(current, bool)
                    else float(value))
    return json_response(asdict(svc.settings))


def flush_hook(call: Call):
    """Attempt every pending message now, whatever its schedule (tests, demos)."""
    svc = service(call.emu)
    svc._batch()
    now = clock.now()
    with svc.lock:
        for msg in svc.messages:
            if msg.status == "pending":
                msg.next_attempt_at = now
    svc.wake.set()
    return json_response({"pending": sum(1 for m in svc.messages if m.status == "pending")})


def register(router) -> None:
    p = "/_emulator/outbound"
    router.add(f"{p}/rules", ["GET", "POST", "DELETE"], rules_hook, auth="hook",
               name="outbound_rules")
    router.add(f"{p}/rules/<rule_id>", ["DELETE"], rules_hook, auth="hook",
               name="outbound_rule")
    router.add(f"{p}/deliveries", ["GET", "DELETE"], deliveries_hook, auth="hook",
               name="outbound_deliveries")
    router.add(f"{p}/settings", ["GET", "POST"], settings_hook, auth="hook",
               name="outbound_settings")
    router.add(f"{p}/flush", ["POST"], flush_hook, auth="hook", name="outbound_flush")
