"""A minimal record viewer: /lightning/r/<Object>/<Id>/view, object lists, and a home page,
with Edit and New forms (viewer_edit.py). Loopback only (the servers bind 127.0.0.1), so it asks
for no login."""

from __future__ import annotations

from werkzeug.wrappers import Response

from . import ids, viewer_edit
from .http import Call
from .pages import esc, page

RELATED = ("Note", "Attachment", "Task", "Event", "ContentDocumentLink", "Opportunity",
           "Contact", "Cothon_Analysis__c", "Cothon_Requirement__c", "i360__Appointment__c")


def _link(rt, value: str) -> str:
    obj = rt.schema.object_for_id(value) if isinstance(value, str) and ids.normalize(value) \
        else None
    if obj is None:
        return esc(value)
    found = rt.store.get(value)
    label = value
    if found and obj.name_field:
        label = found[2].get(obj.name_field) or value
    return f'<a href="/lightning/r/{esc(obj.name)}/{esc(value)}/view">{esc(label)}</a>'


def _value(rt, fld, value) -> str:
    if value is None:
        return ""
    if fld.type == "reference":
        return _link(rt, value)
    if fld.type == "base64":
        return f'<a href="{esc(value.replace("vxx.0", "v59.0"))}">download</a>'
    if fld.type == "boolean":
        return "&#10003;" if value else "&#10007;"
    if fld.type == "url":
        return f'<a href="{esc(value)}" rel="noopener">{esc(value)}</a>'
    return esc(value)


def _find(call: Call, record_id: str):
    full = ids.normalize(record_id)
    if full is None:
        return None
    found = call.emu.store.get(full)
    if found is None:
        return None
    return call.emu.orgs[found[0]], found


def view(call: Call, sobject: str, record_id: str):
    located = _find(call, record_id)
    if located is None:
        return page("Not found", "Salesforce", '<div class="card"><div class="body">'
                    "This record doesn't exist or was deleted.</div></div>", 404)
    rt, (org, obj_name, data, deleted) = located
    obj = rt.schema.get(obj_name)
    title = data.get(obj.name_field) if obj.name_field else data["Id"]
    rows = "".join(
        f"<div><dt>{esc(f.label)}</dt><dd>{_value(rt, f, data.get(f.name))}</dd></div>"
        for f in obj.fields.values() if data.get(f.name) not in (None, ""))
    related = []
    children = rt.store.children_of(data["Id"])
    kinds = rt.store.get_many([c for c, _f in children])
    groups: dict[str, list[str]] = {}
    for child_id, fname in children:
        row = kinds.get(child_id)
        if not row or row[3]:
            continue
        child_obj = rt.schema.get(row[1])
        cdata = row[2]
        if child_obj.name == "ContentDocumentLink":
            doc = rt.store.get(cdata.get("ContentDocumentId"))
            if doc:
                version = doc[2].get("LatestPublishedVersionId")
                groups.setdefault("Files", []).append(
                    f"<tr><td>{_link(rt, doc[2]['Id'])}</td><td>{esc(doc[2].get('FileType'))}"
                    f"</td><td>{esc(doc[2].get('ContentSize'))} bytes</td><td><a href="
                    f'"/services/data/v59.0/sobjects/ContentVersion/{esc(version)}/VersionData"'
                    ">download (API)</a></td></tr>")
            continue
        name = cdata.get(child_obj.name_field) if child_obj.name_field else child_id
        extra = cdata.get("Status") or cdata.get("StageName") or cdata.get("Body") or ""
        groups.setdefault(child_obj.describe["labelPlural"], []).append(
            f'<tr><td><a href="/lightning/r/{esc(child_obj.name)}/{esc(child_id)}/view">'
            f"{esc(name or child_id)}</a></td><td>{esc(fname)}</td><td>{esc(str(extra)[:200])}"
            "</td></tr>")
    for label, items in sorted(groups.items()):
        related.append(f'<div class="card"><h2>{esc(label)} ({len(items)})</h2><div class="body">'
                       f"<table>{''.join(items)}</table></div></div>")
    banner = '<div class="error">This record is in the Recycle Bin.</div>' if deleted else ""
    edit = ""
    if not deleted:
        locked, approval = viewer_edit.approval_buttons(rt, obj.name, data["Id"])
        banner += locked
        edit = (f'<div class="head-action head-actions">{approval}<a class="btn" '
                f'href="/lightning/r/{esc(obj.name)}/{esc(data["Id"])}/edit">Edit</a></div>')
    content = (f'{banner}<div class="card"><div class="rec-head"><span class="icon"></span><div>'
               f"<small>{esc(obj.describe['label'])}</small><h1>{esc(title)}</h1></div>{edit}</div>"
               f'</div><div class="card"><h2>Details</h2><div class="body"><dl class="fields">'
               f"{rows}</dl></div></div>{''.join(related)}")
    return page(f"{title} | {obj.describe['label']}", rt.org.organization.get("Name", org),
                content)


def list_view(call: Call, sobject: str):
    org = call.request.args.get("org") or call.emu.default_org
    rt = call.emu.orgs.get(org)
    obj = rt.schema.get(sobject) if rt else None
    if obj is None:
        return page("Not found", "Salesforce", '<div class="card"><div class="body">Unknown '
                    "object.</div></div>", 404)
    rows = []
    for data in call.emu.store.scan(rt.org.name, obj.name):
        name = data.get(obj.name_field) if obj.name_field else data["Id"]
        rows.append(f'<tr><td><a href="/lightning/r/{esc(obj.name)}/{esc(data["Id"])}/view">'
                    f"{esc(name or data['Id'])}</a></td><td>{esc(data['Id'])}</td><td>"
                    f"{esc(data.get('LastModifiedDate'))}</td></tr>")
        if len(rows) >= 500:
            break
    new = (f'<a class="btn head-action" href="/lightning/o/{esc(obj.name)}/new?org='
           f'{esc(rt.org.name)}">New</a>' if obj.name in viewer_edit.CREATABLE else "")
    content = (f'<div class="card"><h2 class="with-action">{esc(obj.describe["labelPlural"])} '
               f'({len(rows)}){new}</h2>'
               '<div class="body"><table><tr><th>Name</th><th>Id</th><th>Last Modified</th></tr>'
               f"{''.join(rows)}</table></div></div>")
    return page(obj.describe["labelPlural"], rt.org.organization.get("Name", org), content)


def home(call: Call):
    cards = []
    for rt in call.emu.orgs.values():
        counts = call.emu.store.object_counts(rt.org.name)
        items = "".join(
            f'<tr><td><a href="/lightning/o/{esc(name)}/list?org={esc(rt.org.name)}">{esc(name)}'
            f"</a></td><td>{n}</td></tr>" for name, n in sorted(counts.items()))
        cards.append(f'<div class="card"><h2>{esc(rt.org.organization.get("Name", rt.org.name))}'
                     f' &mdash; org &ldquo;{esc(rt.org.name)}&rdquo; ({esc(rt.org.org_id)})</h2>'
                     f'<div class="body"><p><a href="/lightning/setup/Flows/home?org='
                     f'{esc(rt.org.name)}">Setup: flows, outbound messages and workflow rules'
                     "</a></p><table><tr><th>Object</th><th>Records</th></tr>"
                     f"{items}</table></div></div>")
    return page("Salesforce org emulator", "Salesforce org emulator", "".join(cards))


def classic(call: Call, record_id: str):
    located = _find(call, record_id)
    if located is None:
        return page("Not found", "Salesforce", '<div class="card"><div class="body">Not found.'
                    "</div></div>", 404)
    rt, (_org, obj_name, data, _deleted) = located
    return Response(status=302, headers={"Location": f"/lightning/r/{obj_name}/{data['Id']}/view"})


def register(router) -> None:
    router.add("/lightning/r/<sobject>/<record_id>/view", ["GET"], view, auth="none")
    router.add("/lightning/o/<sobject>/list", ["GET"], list_view, auth="none")
    router.add("/", ["GET"], home, auth="none")
    from . import viewer_automation
    viewer_automation.register(router)
    viewer_edit.register(router)
    router.add("/<record_id>", ["GET"], classic, auth="none")
