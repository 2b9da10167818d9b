"""Org definition files (YAML or JSON): objects, fields, rules, users, profiles, auth settings.

An org definition is plain data; `metadata.py` turns its objects into describes and
`validation.py` into compiled validators. Parsing is strict so a typo fails at start-up rather
than as a puzzling API answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import ids

ORG_DIR = Path(__file__).with_name("orgs")
DEFAULT_ORG_FILES = (ORG_DIR / "demo.yaml", ORG_DIR / "sandbox.yaml")

ALL_GRANTS = ("authorization_code", "refresh_token", "client_credentials", "password")


class OrgDefinitionError(ValueError):
    pass


@dataclass
class ConnectedApp:
    name: str
    client_id: str
    client_secret: str
    grants: tuple[str, ...]
    callback_urls: tuple[str, ...]
    run_as: str | None


@dataclass
class Profile:
    name: str
    admin: bool
    objects: dict[str, str]  # object name -> subset of "CRED"
    fields: dict[str, str]  # "Object.Field" -> none | read | edit
    id: str = ""

    def object_perms(self, obj: str) -> str:
        if self.admin:
            return "CRED"
        return self.objects.get(obj, "")

    def field_access(self, obj: str, fld: str) -> str:
        """none | read | edit for a field of an object the profile can at least read."""
        if self.admin:
            return "edit"
        return self.fields.get(f"{obj}.{fld}", "edit")


@dataclass
class User:
    username: str
    first_name: str
    last_name: str
    email: str
    alias: str
    profile: str
    password: str
    security_token: str
    id: str = ""


@dataclass
class ValidationRule:
    object: str
    name: str
    when: dict[str, Any]
    message: str
    error_field: str | None
    active: bool = True


@dataclass
class ObjectSpec:
    name: str
    custom: bool
    label: str = ""
    plural_label: str = ""
    key_prefix: str = ""
    name_field: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class OrgDef:
    name: str
    code: str
    org_id: str  # 18 characters
    organization: dict[str, Any]
    allowance: int
    window: str
    reset_hour_utc: int
    access_token_seconds: int
    password_grant: bool
    soap_login: bool
    connected_apps: list[ConnectedApp]
    profiles: dict[str, Profile]
    users: list[User]
    objects: dict[str, ObjectSpec]
    validation_rules: list[ValidationRule]
    seed: list[dict[str, Any]]
    source: str = ""

    @property
    def org_id15(self) -> str:
        return self.org_id[:15]

    @property
    def is_sandbox(self) -> bool:
        return bool(self.organization.get("IsSandbox"))

    def user_by_username(self, username: str) -> User | None:
        lowered = username.lower()
        return next((u for u in self.users if u.username.lower() == lowered), None)

    def user_by_id(self, user_id: str) -> User | None:
        return next((u for u in self.users if u.id == user_id), None)

    def app_by_client_id(self, client_id: str) -> ConnectedApp | None:
        return next((a for a in self.connected_apps if a.client_id == client_id), None)


def _require(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise OrgDefinitionError(f"{where}: missing '{key}'")
    return data[key]


def parse(data: dict[str, Any], source: str = "") -> OrgDef:
    where = source or "org definition"
    name = _require(data, "name", where)
    code = str(data.get("org_code") or name[:1]).upper()
    raw_org_id = str(_require(data, "org_id", where))
    org_id = ids.normalize(raw_org_id)
    if not org_id or not org_id.startswith("00D"):
        raise OrgDefinitionError(f"{where}: org_id must be a 15/18-character 00D id")
    api = data.get("api", {})
    auth = data.get("auth", {})
    window = api.get("window", "rolling")
    if window not in ("rolling", "fixed"):
        raise OrgDefinitionError(f"{where}: api.window must be rolling or fixed")
    apps = []
    for app in data.get("connected_apps", []):
        grants = tuple(app.get("grants", ALL_GRANTS))
        unknown = set(grants) - set(ALL_GRANTS)
        if unknown:
            raise OrgDefinitionError(f"{where}: unknown grants {sorted(unknown)}")
        apps.append(
            ConnectedApp(
                name=app["name"],
                client_id=app["client_id"],
                client_secret=app["client_secret"],
                grants=grants,
                callback_urls=tuple(app.get("callback_urls", [])),
                run_as=app.get("run_as"),
            )
        )
    profiles: dict[str, Profile] = {}
    for index, prof in enumerate(data.get("profiles", [])):
        profile = Profile(
            name=prof["name"],
            admin=bool(prof.get("admin")),
            objects={k: str(v).upper() for k, v in (prof.get("objects") or {}).items()},
            fields={k: str(v).lower() for k, v in (prof.get("fields") or {}).items()},
        )
        profile.id = ids.make_seed_id(ids.STANDARD_PREFIXES["Profile"], code, index + 1)
        profiles[profile.name] = profile
    users = []
    for index, usr in enumerate(data.get("users", [])):
        if usr["profile"] not in profiles:
            raise OrgDefinitionError(f"{where}: user {usr['username']} has unknown profile")
        user = User(
            username=usr["username"],
            first_name=usr.get("first_name", ""),
            last_name=usr["last_name"],
            email=usr.get("email", usr["username"]),
            alias=usr.get("alias", usr["last_name"][:8].lower()),
            profile=usr["profile"],
            password=str(usr["password"]),
            security_token=str(usr.get("security_token", "")),
        )
        user.id = ids.make_seed_id(ids.STANDARD_PREFIXES["User"], code, index + 1)
        users.append(user)
    if not users:
        raise OrgDefinitionError(f"{where}: at least one user is required")
    objects: dict[str, ObjectSpec] = {}
    for obj_name, spec in (data.get("objects") or {}).items():
        spec = spec or {}
        custom = obj_name.endswith("__c")
        objects[obj_name] = ObjectSpec(
            name=obj_name,
            custom=custom,
            label=spec.get("label", obj_name.replace("__c", "").replace("_", " ")),
            plural_label=spec.get("plural_label", spec.get("label", obj_name) + "s"),
            key_prefix=spec.get("key_prefix", ""),
            name_field=spec.get("name_field") or {},
            fields={k: dict(v or {}) for k, v in (spec.get("fields") or {}).items()},
        )
    # Custom objects without an explicit key prefix get a00, a01, ... in declaration order.
    used = {o.key_prefix for o in objects.values() if o.key_prefix}
    counter = 0
    for obj in objects.values():
        if obj.custom and not obj.key_prefix:
            while True:
                candidate = "a" + ids.base62(counter, 2)
                counter += 1
                if candidate not in used:
                    obj.key_prefix = candidate
                    used.add(candidate)
                    break
    rules = [
        ValidationRule(
            object=r["object"],
            name=r["name"],
            when=r["when"],
            message=r["message"],
            error_field=r.get("error_field"),
            active=r.get("active", True),
        )
        for r in data.get("validation_rules", [])
    ]
    return OrgDef(
        name=name,
        code=code,
        org_id=org_id,
        organization=dict(data.get("organization") or {}),
        allowance=int(api.get("allowance", 15000)),
        window=window,
        reset_hour_utc=int(api.get("reset_hour_utc", 8)),
        access_token_seconds=int(api.get("access_token_seconds", 7200)),
        password_grant=bool(auth.get("password_grant", False)),
        soap_login=bool(auth.get("soap_login", True)),
        connected_apps=apps,
        profiles=profiles,
        users=users,
        objects=objects,
        validation_rules=rules,
        seed=list(data.get("seed") or []),
        source=source,
    )


def load(path: str | Path) -> OrgDef:
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict):
        raise OrgDefinitionError(f"{path}: not a mapping")
    return parse(data, str(path))


def load_all(paths: list[str | Path] | None = None) -> list[OrgDef]:
    orgs = [load(p) for p in (paths or DEFAULT_ORG_FILES)]
    names = [o.name for o in orgs]
    if len(set(names)) != len(names):
        raise OrgDefinitionError("org names must be unique")
    usernames = [u.username.lower() for o in orgs for u in o.users]
    if len(set(usernames)) != len(usernames):
        raise OrgDefinitionError("usernames must be unique across orgs (as in Salesforce)")
    return orgs
