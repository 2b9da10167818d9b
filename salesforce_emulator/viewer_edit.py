"""Edit and New in the record viewer: `/lightning/r/<Object>/<Id>/edit` and
`/lightning/o/<Object>/new`, a form of the fields the org's admin may write (from the describe:
picklists as selects with the org's values, checkboxes, date/number/text inputs, reference ids as
text), saved through `Dml` as the org's admin user, so validation rules, FLS and the after-save
automation (workflow rules, record-triggered flows, outbound messages) run exactly as for an API
write. These are UI edits: the routes are `auth="none"` and never count against the org's API
allowance.

The viewer has no login (the servers bind loopback), so a POST must carry a token only a page
served by this process can hold: an HMAC of the form's path under a per-process secret, in a
hidden field. Another site cannot read the form (no CORS, X-Frame-Options DENY) and so cannot
post it; a POST naming a foreign Origin is refused too."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from werkzeug.wrappers import Response

from . import approvals, ids
from .dml import BLOB_FIELDS, Dml, DmlError
from .errors import SfError
from .http import Call
from .pages import esc, page

_SECRET = secrets.token_bytes(32)  # per process: a restart expires open forms
CREATABLE = ("Opportunity",)  # objects whose list view offers New
TEXT_INPUTS = {"string": "text", "email": "email", "phone": "tel", "url": "url",
               "reference": "text", "combobox": "text", "encryptedstring": "text",
               "int": "number", "double": "number", "currency": "number", "percent": "number",
               "date": "date", "datetime": "datetime-local", "time": "time"}
EDITABLE_TYPES = set(TEXT_INPUTS) | {"picklist", "multipicklist", "boolean", "textarea"}
SNAG = "We hit a snag."


def form_token(path: str) -> str:
    return hmac.new(_SECRET, path.encode("utf-8"), hashlib.sha256).hexdigest()


def _token_ok(call: Call, path: str) -> bool:
    sent = call.request.form.get("_token", "")
    return hmac.compare_digest(sent.encode("utf-8"), form_token(path).encode("utf-8"))


def _foreign_origin(call: Call) -> bool:
    origin = call.request.headers.get("Origin")
    if not origin or origin == "null":
        return bool(origin)  # a sandboxed/opaque origin is not ours either
    ours = urlsplit(call.request.host_url)
    theirs = urlsplit(origin)
    return (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc)


def _fields(rt: Any, obj: Any, creating: bool) -> list[Any]:
    """The fields the admin may write on this form, in the describe's order (name first)."""
    val = rt.validator(obj, rt.admin_profile)
    writable = val.writable_create if creating else val.writable_update
    shown = [f for key, f in obj.fields.items()
             if key in writable and f.type in EDITABLE_TYPES and (obj.name, f.name) not in BLOB_FIELDS]
    return sorted(shown, key=lambda f: f.name != obj.name_field)


def _shown_value(fld: Any, value: Any) -> str:
    """A stored value as the form's input holds it (also what 'unchanged' compares with)."""
    if value is None:
        return ""
    if fld.type == "boolean":
        return "true" if value else "false"
    if fld.type == "datetime":
        return str(value)[:16]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sent_value(fld: Any, text: str) -> str | None:
    """A form value as text for Dml's CSV semantics (type errors become per-field errors)."""
    if text.strip() == "":
        return None
    if fld.type == "datetime" and len(text) == 16:
        return f"{text}:00Z"  # datetime-local has no zone: the viewer shows and takes UTC
    return text


def _posted(call: Call, fields: list[Any]) -> dict[str, str]:
    """The sent fields' values; a field the form did not send is left as it is. Checkboxes and
    multi-selects carry a hidden empty companion so that 'unchecked' and 'none selected' are
    sent too."""
    form = call.request.form
    out = {}
    for fld in fields:
        if fld.name not in form:
            continue
        sent = form.getlist(fld.name)
        if fld.type == "boolean":
            out[fld.name] = "true" if "true" in sent else "false"
        elif fld.type == "multipicklist":
            out[fld.name] = ";".join(v for v in sent if v)
        else:
            out[fld.name] = sent[-1]
    return out


def _input(obj: Any, fld: Any, value: str, required: bool = False) -> str:
    name = esc(fld.name)
    aria = ' aria-required="true"' if required else ""
    if fld.type == "boolean":
        checked = " checked" if value == "true" else ""
        return (f'<input type="hidden" name="{name}" value="false">'
                f'<input type="checkbox" id="f-{name}" name="{name}" value="true"{checked}>')
    if fld.type in ("picklist", "multipicklist"):
        chosen = set(value.split(";")) if value else set()
        options = _ordered(obj, fld)
        options += [v for v in sorted(chosen) if v not in options]  # inactive value kept
        items = "".join(f'<option value="{esc(v)}"{" selected" if v in chosen else ""}>'
                        f"{esc(v)}</option>" for v in options)
        if fld.type == "multipicklist":
            return (f'<input type="hidden" name="{name}" value="">'
                    f'<select id="f-{name}" name="{name}" multiple size="4">{items}</select>')
        return f'<select id="f-{name}" name="{name}"{aria}><option value="">--None--</option>{items}</select>'
    if fld.type == "textarea":
        return f'<textarea id="f-{name}" name="{name}" rows="3">{esc(value)}</textarea>'
    kind = TEXT_INPUTS[fld.type]
    extra = ""
    if kind == "number":
        extra = ' step="any"' if fld.type != "int" else ' step="1"'
    elif fld.length and kind in ("text", "email", "tel", "url"):
        extra = f' maxlength="{fld.length}"' if fld.type != "reference" else ""
    return (f'<input type="{kind}" id="f-{name}" name="{name}" value="{esc(value)}"'
            f"{extra}{aria}>")


def _ordered(obj: Any, fld: Any) -> list[str]:
    """The active picklist values in the describe's order (FieldMeta keeps them as a set)."""
    described = next((d for d in obj.describe.get("fields", []) if d["name"] == fld.name), {})
    ordered = [p["value"] for p in described.get("picklistValues") or []
               if p["value"] in fld.picklist]
    return ordered + sorted(fld.picklist - set(ordered))


def _form(rt: Any, obj: Any, action: str, fields: list[Any], values: dict[str, str],
          errors: list[SfError], title: str, cancel: str, status: int = 200) -> Response:
    val = rt.validator(obj, rt.admin_profile)
    required = {f.name for f in val.required}
    by_field: dict[str, list[str]] = {}
    for err in errors:
        for fname in err.fields:
            by_field.setdefault(fname.lower(), []).append(err.message)
    rows = []
    for fld in fields:
        # the marker is visual; the input says aria-required (no HTML `required`: the server's
        # REQUIRED_FIELD_MISSING is the message shown, as for an API write)
        mark = '<abbr class="req" aria-hidden="true">*</abbr>' if fld.name in required else ""
        messages = by_field.get(fld.name.lower(), [])
        note = "".join(f'<div class="field-error">{esc(m)}</div>' for m in messages)
        css = "edit-field has-error" if messages else "edit-field"
        label = f'{mark}{esc(fld.label)}' + (" (UTC)" if fld.type == "datetime" else "")
        rows.append(f'<div class="{css}"><label for="f-{esc(fld.name)}">{label}</label>'
                    f"{_input(obj, fld, values.get(fld.name, ''), fld.name in required)}{note}"
                    "</div>")
    banner = ""
    if errors:
        items = "".join(f"<li>{esc(e.message)}</li>" for e in errors)
        banner = (f'<div class="error" role="alert"><b>{SNAG}</b> Review the errors on this '
                  f"page.<ul>{items}</ul></div>")
    content = (f'{banner}<div class="card"><div class="rec-head"><span class="icon"></span><div>'
               f"<small>{esc(obj.describe['label'])}</small><h1>{esc(title)}</h1></div></div>"
               f'</div><form method="post" action="{esc(action)}" class="card edit-form">'
               f'<h2>Information</h2><div class="body"><input type="hidden" name="_token" '
               f'value="{form_token(action)}"><div class="edit-grid">{"".join(rows)}</div></div>'
               f'<div class="actions"><a class="btn secondary" href="{esc(cancel)}">Cancel</a>'
               '<button type="submit" class="btn">Save</button></div></form>')
    return page(title, rt.org.organization.get("Name", rt.org.name), content, status)


def _refused(message: str, status: int) -> Response:
    return page("Not allowed", "Salesforce", f'<div class="card"><div class="body">'
                f"{esc(message)}</div></div>", status)


def _not_found() -> Response:
    return page("Not found", "Salesforce", '<div class="card"><div class="body">'
                "This record doesn't exist or was deleted.</div></div>", 404)


def _errors(exc: Exception) -> list[SfError]:
    return list(exc.errors) if isinstance(exc, DmlError) else [exc]  # type: ignore[list-item]


def edit(call: Call, sobject: str, record_id: str):
    full = ids.normalize(record_id)
    found = call.emu.store.get(full) if full else None
    if found is None or found[3] or found[1].lower() != sobject.lower():
        return _not_found()
    org, obj_name, data, _deleted = found
    rt = call.emu.orgs[org]
    obj = rt.schema.get(obj_name)
    view_path = f"/lightning/r/{obj.name}/{full}/view"
    action = f"/lightning/r/{obj.name}/{full}/edit"
    fields = _fields(rt, obj, creating=False)
    title = f"Edit {data.get(obj.name_field) or full}" if obj.name_field else f"Edit {full}"
    current = {f.name: _shown_value(f, data.get(f.name)) for f in fields}
    if call.request.method == "GET":
        return _form(rt, obj, action, fields, current, [], title, view_path)
    denied = _check_post(call, action)
    if denied is not None:
        return denied
    posted = _posted(call, fields)
    changes = {name: _sent_value(obj.field(name), text) for name, text in posted.items()
               if text != current[name]}
    try:
        if changes:
            with call.emu.store.write():
                _admin_dml(rt).update(obj.name, full, changes, csv=True)
    except (DmlError, SfError) as exc:
        return _form(rt, obj, action, fields, {**current, **posted}, _errors(exc), title,
                     view_path, 400)
    return Response(status=303, headers={"Location": view_path})


def new(call: Call, sobject: str):
    org = call.request.args.get("org") or call.emu.default_org
    rt = call.emu.orgs.get(org)
    obj = rt.schema.get(sobject) if rt else None
    if obj is None or obj.name not in CREATABLE:
        return page("Not found", "Salesforce", '<div class="card"><div class="body">This object '
                    "can't be created in the viewer.</div></div>", 404)
    action = f"/lightning/o/{obj.name}/new?org={rt.org.name}"
    cancel = f"/lightning/o/{obj.name}/list?org={rt.org.name}"
    fields = _fields(rt, obj, creating=True)
    title = f"New {obj.describe['label']}"
    if call.request.method == "GET":
        defaults = {f.name: _shown_value(f, f.picklist_default) for f in fields
                    if f.picklist_default is not None}
        return _form(rt, obj, action, fields, defaults, [], title, cancel)
    denied = _check_post(call, action)
    if denied is not None:
        return denied
    posted = _posted(call, fields)
    payload = {name: _sent_value(obj.field(name), text) for name, text in posted.items()
               if text != "" and not (obj.field(name).type == "boolean" and text == "false")}
    try:
        with call.emu.store.write():
            record_id = _admin_dml(rt).create(obj.name, payload, csv=True)
    except (DmlError, SfError) as exc:
        return _form(rt, obj, action, fields, posted, _errors(exc), title, cancel, 400)
    return Response(status=303, headers={"Location": f"/lightning/r/{obj.name}/{record_id}/view"})


def _admin_dml(rt: Any) -> Dml:
    """Dml as the org's admin user: the person at the viewer is the org's administrator."""
    return Dml(rt, rt.admin_user)


def _check_post(call: Call, action: str) -> Response | None:
    if _foreign_origin(call):
        return _refused("This form can only be sent from the record viewer.", 403)
    if not _token_ok(call, action):
        return _refused("This form has expired or did not come from the record viewer. Reload "
                        "the page and try again.", 403)
    return None


def approval(call: Call, sobject: str, record_id: str):
    """The view page's Submit for Approval / Recall buttons (approvals.py): the admin submits
    the record (it is locked for everyone else) or recalls the request (it is unlocked)."""
    full = ids.normalize(record_id)
    found = call.emu.store.get(full) if full else None
    if found is None or found[3] or found[1].lower() != sobject.lower():
        return _not_found()
    rt = call.emu.orgs[found[0]]
    action = f"/lightning/r/{found[1]}/{full}/approval"
    denied = _check_post(call, action)
    if denied is not None:
        return denied
    what = call.request.form.get("action")
    if what == "submit" and approvals.lock_of(rt, full) is None:
        approvals.submit(rt, full, user_id=rt.admin_user.id)
    elif what == "recall":
        approvals.recall(rt, full)
    elif what != "submit":
        return _refused("Unknown approval action.", 400)
    return Response(status=303, headers={"Location": f"/lightning/r/{found[1]}/{full}/view"})


def approval_buttons(rt: Any, obj_name: str, record_id: str) -> tuple[str, str]:
    """(banner, button form) for the view page: locked records say so and offer Recall."""
    action = f"/lightning/r/{obj_name}/{record_id}/approval"
    lock = approvals.lock_of(rt, record_id)
    verb, label = ("recall", "Recall Approval Request") if lock else ("submit", "Submit for Approval")
    form = (f'<form method="post" action="{esc(action)}"><input type="hidden" name="_token" '
            f'value="{form_token(action)}"><input type="hidden" name="action" value="{verb}">'
            f'<button type="submit" class="btn secondary">{label}</button></form>')
    banner = "" if lock is None else (
        f'<div class="locked" role="status"><b>This record is locked.</b> It was submitted for '
        f"approval on {esc(lock['submitted_at'][:16].replace('T', ' '))} UTC; only an "
        "administrator can edit it until the approval is completed or recalled.</div>")
    return banner, form


def register(router) -> None:
    router.add("/lightning/r/<sobject>/<record_id>/edit", ["GET", "POST"], edit, auth="none")
    router.add("/lightning/o/<sobject>/new", ["GET", "POST"], new, auth="none")
    router.add("/lightning/r/<sobject>/<record_id>/approval", ["POST"], approval, auth="none")
