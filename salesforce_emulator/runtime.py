"""The emulator's live state: orgs (definition + schema + usage), store, sessions, faults,
request counters and query cursors. One `Emulator` per process, shared by both servers."""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from . import approvals, clock, editions, ids
from .auth import TokenService
from .dml import Dml
from .faults import FaultRegistry
from .limits import ApiUsage
from .metadata import FieldMeta, ObjectMeta, OrgSchema
from .orgdef import OrgDef, Profile, User
from .store import Store
from .validation import Validator

DELETED_RETENTION = timedelta(days=15)


class OrgRuntime:
    def __init__(self, org: OrgDef, store: Store):
        self.org = org
        self.store = store
        self.schema = OrgSchema(org)
        self.usage = ApiUsage(org.allowance, org.window, org.reset_hour_utc)
        self.admin_profile = next((p for p in org.profiles.values() if p.admin),
                                  Profile("System Administrator", True, {}, {}))
        self._validators: dict[tuple[str, str], Validator] = {}
        self._cascade: dict[tuple[str, str, str], bool] = {}
        self.access_token_seconds = org.access_token_seconds
        self.password_grant = org.password_grant

    def profile_of(self, user: User) -> Profile:
        return self.org.profiles[user.profile]

    def validator(self, obj: ObjectMeta, profile: Profile) -> Validator:
        key = (obj.name, profile.name)
        found = self._validators.get(key)
        if found is None:
            found = Validator(self.schema, obj, profile, self.org.validation_rules)
            self._validators[key] = found
        return found

    def cascades(self, parent: ObjectMeta, child: ObjectMeta, field: str) -> bool:
        """Does deleting `parent` delete `child` (via child.field)? From the describes."""
        key = (parent.name, child.name, field)
        found = self._cascade.get(key)
        if found is None:
            meta = child.field(field)
            found = bool(meta and meta.cascade_delete) or any(
                c["childSObject"] == child.name and c["field"] == field and c["cascadeDelete"]
                for c in parent.children)
            self._cascade[key] = found
        return found

    @property
    def admin_user(self) -> User:
        return next(u for u in self.org.users if self.org.profiles[u.profile].admin)

    # -- seeding -------------------------------------------------------------------------
    def seed(self) -> None:
        """Write the org's seeded state: Organization, Profiles, Users, then seed records."""
        org = self.org
        admin = self.admin_user
        stamp = clock.sf_datetime()
        system = Dml(self, admin, internal=True)

        def raw_insert(sobject: str, data: dict[str, Any]) -> None:
            obj = self.schema.get(sobject)
            data.update(CreatedDate=stamp, CreatedById=admin.id, LastModifiedDate=stamp,
                        LastModifiedById=admin.id, SystemModstamp=stamp, IsDeleted=False)
            self.store.insert(org.name, obj.name, self.store.next_seq(), data,
                              system._keys(obj, data), [])

        with self.store.write():
            info = {"Id": org.org_id, "Name": org.organization.get("Name", org.name),
                    "FiscalYearStartMonth": 1, "NamespacePrefix": None,
                    "TrialExpirationDate": None, "IsReadOnly": False,
                    "PrimaryContact": f"{admin.first_name} {admin.last_name}".strip()}
            info.update(org.organization)
            raw_insert("Organization", info)
            for profile in org.profiles.values():
                raw_insert("Profile", {"Id": profile.id, "Name": profile.name,
                                       "UserType": "Standard", "PermissionsApiEnabled": True,
                                       "PermissionsViewAllData": profile.admin,
                                       "PermissionsModifyAllData": profile.admin})
            for user in org.users:
                raw_insert("User", {
                    "Id": user.id, "Username": user.username, "FirstName": user.first_name,
                    "LastName": user.last_name,
                    "Name": f"{user.first_name} {user.last_name}".strip(), "Email": user.email,
                    "Alias": user.alias, "IsActive": True, "UserType": "Standard",
                    "TimeZoneSidKey": org.organization.get("TimeZoneSidKey", "GMT"),
                    "LocaleSidKey": org.organization.get("DefaultLocaleSidKey", "en_US"),
                    "LanguageLocaleKey": "en_US", "EmailEncodingKey": "UTF-8",
                    "ProfileId": org.profiles[user.profile].id})
            refs: dict[str, str] = {}
            for index, item in enumerate(org.seed, start=1):
                obj = self.schema.get(item["type"])
                fields = {}
                for key, value in (item.get("fields") or {}).items():
                    if isinstance(value, str) and value.startswith("@user:"):
                        value = org.user_by_username(value[6:]).id
                    elif isinstance(value, str) and value.startswith(("@when:", "@date:")):
                        value = clock.relative_seed_value(value, org.organization.get("TimeZoneSidKey", "GMT"))
                    elif isinstance(value, str) and value.startswith("@"):
                        value = refs[value[1:]]
                    fields[key] = value
                rid = system.create(obj.name, fields,
                                    forced_id=ids.make_seed_id(obj.key_prefix, org.code, index))
                if item.get("ref"):
                    refs[item["ref"]] = rid

    def reset(self) -> None:
        self.store.wipe_org(self.org.name)
        self.seed()


class Emulator:
    def __init__(self, data_dir: Path, orgs: list[OrgDef]):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.data_dir / "emulator.sqlite3")
        self.orgs: dict[str, OrgRuntime] = {o.name: OrgRuntime(o, self.store) for o in orgs}
        self.by_org_id = {rt.org.org_id: rt for rt in self.orgs.values()}
        self.default_org = orgs[0].name
        self.tokens = TokenService(self.store)
        self.faults = FaultRegistry()
        self.counters: Counter[tuple[str, str]] = Counter()
        self.counters_lock = threading.Lock()
        self.cursors: dict[str, tuple[float, list[dict[str, Any]], int, str]] = {}
        self.cursor_lock = threading.Lock()
        self.max_request_bytes = 50 * 1024 * 1024
        self.instance_url = "https://127.0.0.1:8443"
        self.http_url = "http://127.0.0.1:8080"
        self.admin_key = self._admin_key()
        self._restore()
        for rt in self.orgs.values():
            if not self.store.has_org_data(rt.org.name):
                rt.seed()
        cutoff = clock.now() - DELETED_RETENTION
        self.store.purge_deleted_before(clock.sf_datetime(cutoff))

    def _admin_key(self) -> str:
        path = self.data_dir / "admin_key"
        if path.exists():
            return path.read_text().strip()
        key = secrets.token_urlsafe(32)
        path.write_text(key + "\n")
        path.chmod(0o600)
        return key

    def _restore(self) -> None:
        for rt in self.orgs.values():
            editions.remember_definition(rt)
        saved = self.store.kv_get("usage", {})
        for name, data in saved.items():
            if name in self.orgs:
                self.orgs[name].usage.restore(data)
        settings = self.store.kv_get("settings", {})
        self.max_request_bytes = int(settings.get("max_request_bytes", self.max_request_bytes))

    def persist(self) -> None:
        self.store.kv_set("usage", {n: rt.usage.snapshot() for n, rt in self.orgs.items()})
        self.store.kv_set("settings", {"max_request_bytes": self.max_request_bytes})

    # -- lookups -------------------------------------------------------------------------
    def org_of_user(self, username: str) -> tuple[OrgRuntime, User] | None:
        for rt in self.orgs.values():
            user = rt.org.user_by_username(username)
            if user:
                return rt, user
        return None

    def org_of_client(self, client_id: str):
        for rt in self.orgs.values():
            app = rt.org.app_by_client_id(client_id)
            if app:
                return rt, app
        return None

    def count(self, org: str, key: str) -> None:
        with self.counters_lock:
            self.counters[(org, key)] += 1

    # -- query cursors -------------------------------------------------------------------
    def save_cursor(self, records: list[dict[str, Any]], total: int, org: str) -> str:
        locator = ids.make_id("01g", int(time.time() * 1000) % 10**9 + secrets.randbelow(10**6))
        with self.cursor_lock:
            now = time.time()
            for key in [k for k, v in self.cursors.items() if v[0] < now]:
                del self.cursors[key]
            self.cursors[locator] = (now + 15 * 60, records, total, org)
        return locator

    def cursor(self, locator: str) -> tuple[list[dict[str, Any]], int, str] | None:
        with self.cursor_lock:
            found = self.cursors.get(locator)
        if found is None or found[0] < time.time():
            return None
        return found[1], found[2], found[3]

    def reset_all(self, org: str | None = None) -> None:
        targets = [self.orgs[org]] if org else list(self.orgs.values())
        for rt in targets:
            editions.forget_change(rt)
            approvals.forget(rt)
            rt.reset()
            rt.usage.set_used(0)
            rt.usage.refused = 0
            rt.usage.allowance = rt.org.allowance
            rt.usage.window = rt.org.window
            rt.usage.reset_hour_utc = rt.org.reset_hour_utc
            rt.access_token_seconds = rt.org.access_token_seconds
            rt.password_grant = rt.org.password_grant
        if org is None:
            self.faults.clear()
            clock.reset()
            with self.counters_lock:
                self.counters.clear()
            self.max_request_bytes = 50 * 1024 * 1024


class StoreDataSource:
    """The SOQL engine's view of one org, narrowed to one user's object and field access."""

    def __init__(self, rt: OrgRuntime, profile: Profile):
        self.rt = rt
        self.profile = profile
        self._infos: dict[str, Any] = {}

    def _visible(self, obj: ObjectMeta) -> dict[str, FieldMeta]:
        return self.rt.schema.visible_fields(self.profile, obj)

    def object_info(self, name: str):
        from .soql.interface import ChildRelationshipInfo, FieldInfo, ObjectInfo
        obj = self.rt.schema.get(name)
        if obj is None or not self.rt.schema.readable(self.profile, obj):
            return None
        cached = self._infos.get(obj.name)
        if cached is not None:
            return cached
        fields = {
            k: FieldInfo(name=f.name, type=f.type, reference_to=f.reference_to,
                         relationship_name=f.relationship_name, filterable=f.filterable,
                         sortable=f.sortable, groupable=f.groupable)
            for k, f in self._visible(obj).items()
        }
        children = {}
        for rel in obj.children:
            child = self.rt.schema.get(rel["childSObject"])
            if rel["relationshipName"] and child and self.rt.schema.readable(self.profile, child):
                children[rel["relationshipName"].lower()] = ChildRelationshipInfo(
                    relationship_name=rel["relationshipName"], child_object=child.name,
                    field=rel["field"])
        info = ObjectInfo(name=obj.name, fields=fields, child_relationships=children,
                          queryable=True)
        self._infos[obj.name] = info
        return info

    def _project(self, obj: ObjectMeta, data: dict[str, Any]) -> dict[str, Any]:
        visible = self._visible(obj)
        out = {f.name: data.get(f.name) for f in visible.values()}
        out["Id"] = data["Id"]
        return out

    def records(self, object_name: str, *, include_deleted: bool = False,
                equals: dict[str, frozenset[Any]] | None = None):
        obj = self.rt.schema.get(object_name)
        if obj is None or not self.rt.schema.readable(self.profile, obj):
            return []
        store, org = self.rt.store, self.rt.org.name
        if equals:
            if "id" in equals:
                wanted = [n for v in equals["id"] if isinstance(v, str)
                          and (n := ids.normalize(v))]
                found = store.get_many(wanted)
                return [self._project(obj, d) for rid, (o, s, d, deleted) in found.items()
                        if o == org and s == obj.name and (include_deleted or not deleted)]
            for key, values in equals.items():
                fld = obj.fields.get(key)
                if fld and (fld.unique or fld.external_id) and not include_deleted:
                    from .dml import key_value
                    hits: list[str] = []
                    for value in values:
                        if value is not None:
                            hits += store.find_by_key(org, obj.name, fld.name,
                                                      key_value(fld, value))
                    found = store.get_many(hits)
                    return [self._project(obj, d) for rid, (o, s, d, deleted) in found.items()
                            if not deleted]
        return (self._project(obj, d) for d in store.scan(org, obj.name, include_deleted))

    def record_by_id(self, record_id: str):
        full = ids.normalize(record_id) if isinstance(record_id, str) else None
        if full is None:
            return None
        found = self.rt.store.get(full)
        if found is None or found[0] != self.rt.org.name:
            return None
        obj = self.rt.schema.get(found[1])
        if obj is None or not self.rt.schema.readable(self.profile, obj):
            return None
        return obj.name, self._project(obj, found[2])

    def now(self) -> datetime:
        return clock.now()
