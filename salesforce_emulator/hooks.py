"""Test and ops hooks under /_emulator/ (not Salesforce API). They need the admin key from
<data-dir>/admin_key in the X-Emulator-Key header; /_emulator/health does not."""

from __future__ import annotations

from typing import Any

from . import approvals, clock, editions
from .http import Call, json_response
from .limits import parse_reset_time


def _body(call: Call) -> dict[str, Any]:
    if not call.request.get_data():
        return {}
    body = call.json()
    return body if isinstance(body, dict) else {}


def _org(call: Call, body: dict[str, Any] | None = None):
    name = (body or {}).get("org") or call.request.args.get("org") or call.emu.default_org
    rt = call.emu.orgs.get(name)
    if rt is None:
        raise KeyError(name)
    return rt


def _json_or_404(fn):
    def wrapper(call: Call, **kwargs):
        try:
            return fn(call, **kwargs)
        except KeyError as exc:
            return json_response({"error": f"unknown org or record: {exc}"}, 404)
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
    wrapper.__name__ = fn.__name__
    wrapper.__module__ = fn.__module__
    return wrapper


def health(call: Call):
    return json_response({"ok": True, "instance_url": call.emu.instance_url,
                          "http_url": call.emu.http_url, "orgs": list(call.emu.orgs)})


def org_summary(call: Call, rt) -> dict[str, Any]:
    org = rt.org
    admin = rt.admin_user
    app = org.connected_apps[0] if org.connected_apps else None
    return {
        "org": org.name, "org_id": org.org_id, "is_sandbox": org.is_sandbox,
        "instance_url": call.emu.instance_url, "http_url": call.emu.http_url,
        "login_url": call.emu.http_url,
        "users": [{"username": u.username, "password": u.password,
                   "security_token": u.security_token, "profile": u.profile, "id": u.id}
                  for u in org.users],
        "admin": {"username": admin.username, "password": admin.password,
                  "security_token": admin.security_token, "id": admin.id},
        "client_id": app.client_id if app else None,
        "client_secret": app.client_secret if app else None,
        "grants": list(app.grants) if app else [],
        "password_grant": rt.password_grant,
    }


def orgs(call: Call):
    return json_response([org_summary(call, rt) for rt in call.emu.orgs.values()])


@_json_or_404
def reset(call: Call):
    body = _body(call)
    name = body.get("org")
    if name and name not in call.emu.orgs:
        raise KeyError(name)
    call.emu.reset_all(name)
    from .app import current_app
    current_app(call.emu).on_reset(name)
    return json_response({"reset": name or "all"})


@_json_or_404
def faults(call: Call, rule_id: int | None = None):
    method = call.request.method
    if method == "POST":
        rule = call.emu.faults.add(_body(call))
        return json_response(rule.public(), 201)
    if method == "DELETE":
        call.emu.faults.clear(rule_id)
        return json_response({"cleared": rule_id or "all"})
    return json_response(call.emu.faults.list())


@_json_or_404
def limits(call: Call):
    body = _body(call)
    rt = _org(call, body)
    usage = rt.usage
    if call.request.method == "POST":
        _update_limits(usage, body)
        call.emu.persist()
    return json_response({"org": rt.org.name, **usage.status()})


def _update_limits(usage, body: dict[str, Any]) -> None:
    """Check every value first, then apply: a refused request changes nothing."""
    allowance = int(body["allowance"]) if "allowance" in body else None
    if allowance is not None and allowance < 0:
        raise ValueError("allowance must not be negative")
    window = body.get("window")
    if window is not None and window not in ("rolling", "fixed"):
        raise ValueError("window must be rolling or fixed")
    reset_minute = usage.reset_minute_utc
    if "reset_hour_utc" in body:
        hour = int(body["reset_hour_utc"])
        if not 0 <= hour <= 23:
            raise ValueError("reset_hour_utc must be 0-23")
        reset_minute = hour * 60
    if "reset_time_utc" in body:
        reset_minute = parse_reset_time(body["reset_time_utc"])
    used = int(body["used"]) if "used" in body else None
    minutes_ago = int(body.get("used_minutes_ago", 0))
    age = int(body["age_minutes"]) if "age_minutes" in body else None
    if (used is not None and used < 0) or minutes_ago < 0 or (age is not None and age < 0):
        raise ValueError("used, used_minutes_ago and age_minutes must not be negative")
    if allowance is not None:
        usage.allowance = allowance
    if window is not None:
        usage.window = window
    usage.reset_minute_utc = reset_minute
    if body.get("reset_usage"):
        usage.reset_usage()
    if used is not None:
        usage.set_used(used, minutes_ago)
    if age is not None:
        usage.age(age)


@_json_or_404
def clock_hook(call: Call):
    body = _body(call)
    if call.request.method == "POST":
        if body.get("reset"):
            clock.reset()
        elif "set" in body:
            when = clock.parse_datetime(body["set"])
            if when is None:
                raise ValueError("set must be an ISO 8601 datetime")
            clock.set_now(when)
        elif "advance_seconds" in body:
            clock.advance(float(body["advance_seconds"]))
    return json_response({"now": clock.sf_datetime(), "offset_seconds": clock.offset_seconds()})


@_json_or_404
def mint_token(call: Call):
    body = _body(call)
    rt = _org(call, body)
    username = body.get("username")
    user = rt.org.user_by_username(username) if username else next(
        (u for u in rt.org.users if not rt.org.profiles[u.profile].admin), rt.admin_user)
    if user is None:
        raise KeyError(username)
    lifetime = int(body.get("seconds", rt.access_token_seconds))
    session = call.emu.tokens.issue_access(rt.org.name, rt.org.org_id15, user.id, lifetime)
    return json_response({"access_token": session.token, "instance_url": call.emu.instance_url,
                          "user_id": user.id, "username": user.username,
                          "org_id": rt.org.org_id}, 201)


@_json_or_404
def expire_tokens(call: Call):
    body = _body(call)
    if body.get("token"):
        return json_response({"expired": int(call.emu.tokens.expire(body["token"]))})
    org = body.get("org")
    if org and org not in call.emu.orgs:
        raise KeyError(org)
    return json_response({"expired": call.emu.tokens.expire_all(org)})


@_json_or_404
def revoke_token(call: Call):
    body = _body(call)
    return json_response({"revoked": call.emu.tokens.revoke(body.get("token", ""))})


def counters(call: Call):
    emu = call.emu
    if call.request.method == "DELETE":
        with emu.counters_lock:
            emu.counters.clear()
        return json_response({"cleared": True})
    org = call.request.args.get("org")
    with emu.counters_lock:
        items = [{"org": o, "endpoint": k, "count": n} for (o, k), n in emu.counters.items()
                 if org is None or o == org]
    total = sum(i["count"] for i in items)
    return json_response({"total": total, "counters": sorted(items, key=lambda i: -i["count"])})


@_json_or_404
def records(call: Call, org: str, sobject: str):
    rt = call.emu.orgs[org]
    obj = rt.schema.get(sobject)
    if obj is None:
        raise KeyError(sobject)
    include_deleted = call.request.args.get("include_deleted") in ("1", "true")
    rows = list(call.emu.store.scan(rt.org.name, obj.name, include_deleted))
    return json_response({"org": org, "sobject": obj.name, "totalSize": len(rows),
                          "records": rows})


@_json_or_404
def edition(call: Call):
    """GET/POST {"org": "demo", "edition": "Essentials Edition"}: the org's OrganizationType
    (what its Organization record reports and what gates workflow, outbound messages and
    flows); a restart keeps it, /_emulator/reset returns to the org definition's."""
    body = _body(call)
    rt = _org(call, body)
    if call.request.method == "POST":
        if not isinstance(body.get("edition"), str):
            raise ValueError("edition is required, e.g. \"Essentials Edition\"")
        editions.set_edition(rt, body["edition"], clock.sf_datetime())
    return json_response({"org": rt.org.name, "edition": editions.edition_of(rt),
                          "automation": editions.automation_error(rt, "x") is None})


@_json_or_404
def approvals_hook(call: Call, record_id: str | None = None):
    """Approval-process locks (see approvals.py). POST {"id", "comment"?, "org"?} submits a
    record for approval (locks it), DELETE /approvals/<id> recalls it, GET lists the org's."""
    body = _body(call)
    rt = _org(call, body)
    method = call.request.method
    if method == "POST":
        if not isinstance(body.get("id"), str):
            raise ValueError("id is required: the record to submit for approval")
        submitted = approvals.submit(rt, body["id"], user_id=rt.admin_user.id,
                                     comment=body.get("comment", ""))
        return json_response(submitted, 201)
    if method == "DELETE":
        if not approvals.recall(rt, record_id or ""):
            raise KeyError(record_id)
        return json_response({"recalled": record_id})
    return json_response({"org": rt.org.name, "locked": approvals.listing(rt)})


@_json_or_404
def settings(call: Call):
    body = _body(call)
    emu = call.emu
    if "max_request_bytes" in body:
        emu.max_request_bytes = int(body["max_request_bytes"])
    rt = _org(call, body) if ("org" in body or "access_token_seconds" in body
                              or "password_grant" in body) else None
    if rt is not None:
        if "access_token_seconds" in body:
            rt.access_token_seconds = int(body["access_token_seconds"])
        if "password_grant" in body:
            rt.password_grant = bool(body["password_grant"])
    emu.persist()
    return json_response({"max_request_bytes": emu.max_request_bytes})


def register(router) -> None:
    p = "/_emulator"
    router.add(f"{p}/health", ["GET"], health, auth="none")
    router.add(f"{p}/orgs", ["GET"], orgs, auth="hook")
    router.add(f"{p}/reset", ["POST"], reset, auth="hook")
    router.add(f"{p}/faults", ["GET", "POST", "DELETE"], faults, auth="hook")
    router.add(f"{p}/faults/<int:rule_id>", ["DELETE"], faults, auth="hook", name="fault_one")
    router.add(f"{p}/limits", ["GET", "POST"], limits, auth="hook")
    router.add(f"{p}/clock", ["GET", "POST"], clock_hook, auth="hook")
    router.add(f"{p}/tokens", ["POST"], mint_token, auth="hook")
    router.add(f"{p}/tokens/expire", ["POST"], expire_tokens, auth="hook")
    router.add(f"{p}/tokens/revoke", ["POST"], revoke_token, auth="hook")
    router.add(f"{p}/counters", ["GET", "DELETE"], counters, auth="hook")
    router.add(f"{p}/records/<org>/<sobject>", ["GET"], records, auth="hook")
    router.add(f"{p}/settings", ["POST"], settings, auth="hook")
    router.add(f"{p}/edition", ["GET", "POST"], edition, auth="hook")
    router.add(f"{p}/approvals", ["GET", "POST"], approvals_hook, auth="hook")
    router.add(f"{p}/approvals/<record_id>", ["DELETE"], approvals_hook, auth="hook",
               name="approval_one")
