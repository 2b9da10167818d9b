"""Field-level rules compiled from describes: types, lengths, picklists, FLS, validation rules.

`Validator` is built once per (org, object, profile) and cached, so a request pays only for
the fields it sends. Rules that need the store (reference targets, uniqueness) live in dml.py.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from . import clock, ids
from .errors import RequestError, SfError
from .metadata import FieldMeta, ObjectMeta, OrgSchema
from .orgdef import Profile, ValidationRule

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
STRINGISH = {"string", "textarea", "picklist", "email", "phone", "url", "combobox",
             "encryptedstring", "id", "reference"}
JSON_TYPE_NAMES = {"str": "VALUE_STRING", "bool": "VALUE_TRUE", "int": "VALUE_NUMBER_INT",
                   "float": "VALUE_NUMBER_FLOAT", "dict": "START_OBJECT", "list": "START_ARRAY"}


def _locate(raw: str | None, key: str) -> tuple[int, int]:
    """Line/column of a key's value in the raw JSON, for JSON_PARSER_ERROR messages."""
    if not raw:
        return 1, 1
    pos = raw.find(f'"{key}"')
    if pos < 0:
        return 1, 1
    pos = raw.find(":", pos) + 1
    while pos < len(raw) and raw[pos] in " \t\r\n":
        pos += 1
    line = raw.count("\n", 0, pos) + 1
    col = pos - (raw.rfind("\n", 0, pos) + 1) + 1
    return line, col


def parser_error(ftype: str, value: Any, key: str, raw: str | None) -> RequestError:
    token = JSON_TYPE_NAMES.get(type(value).__name__, "VALUE_STRING")
    if value is True or value is False:
        token = "VALUE_TRUE" if value else "VALUE_FALSE"
    shown = {"START_OBJECT": "{", "START_ARRAY": "["}.get(token, str(value).lower()
                                                           if isinstance(value, bool) else value)
    line, col = _locate(raw, key)
    return RequestError(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {ftype} from {token} value {shown} or request may be "
        f"missing a required field at [line:{line}, column:{col}]",
    )


def type_error(fld: FieldMeta, value: Any) -> SfError:
    """The per-record form (CSV/Bulk input), where a value arrives as text."""
    return SfError("INVALID_TYPE_ON_FIELD_IN_RECORD",
                   f"{fld.label}: value not of required type: {value}", [fld.name])


def coerce(fld: FieldMeta, value: Any, key: str = "", raw: str | None = None,
           csv: bool = False) -> Any:
    """Convert a JSON (or CSV text) value to the stored representation of `fld`.

    JSON mode raises RequestError(JSON_PARSER_ERROR) as Salesforce's deserializer does; CSV
    mode raises a per-record INVALID_TYPE_ON_FIELD_IN_RECORD (for Bulk API 2.0).
    """
    if value is None:
        return None
    ftype = fld.type

    def fail() -> Exception:
        return type_error(fld, value) if csv else parser_error(ftype, value, key or fld.name, raw)

    if isinstance(value, (dict, list)) and not (ftype == "multipicklist" and isinstance(value, list)):
        raise fail()
    if ftype in STRINGISH:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value)) if ftype not in ("string", "textarea") else str(value)
        return value if isinstance(value, str) else str(value)
    if ftype == "multipicklist":
        if isinstance(value, list):
            return ";".join(str(v) for v in value)
        return str(value)
    if ftype == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if csv and isinstance(value, str) and value in ("1", "0"):
            return value == "1"
        raise fail()
    if ftype in ("int", "double", "currency", "percent"):
        if isinstance(value, bool):
            raise fail()
        if isinstance(value, (int, float)):
            number = value
        else:
            try:
                number = float(str(value).strip()) if "." in str(value) or "e" in str(value).lower() \
                    else int(str(value).strip())
            except ValueError:
                raise fail() from None
        if ftype == "int":
            if isinstance(number, float):
                if not number.is_integer():
                    raise fail()
                number = int(number)
            return number
        return number
    if ftype == "date":
        if isinstance(value, str):
            text = value.strip()
            try:
                return date.fromisoformat(text[:10]).isoformat() if len(text) == 10 else \
                    _datetime_to_date(text)
            except ValueError:
                pass
        raise fail()
    if ftype == "datetime":
        if isinstance(value, str):
            text = value.strip()
            if len(text) == 10:
                try:
                    return date.fromisoformat(text).isoformat() + "T00:00:00.000+0000"
                except ValueError:
                    raise fail() from None
            parsed = clock.parse_datetime(text)
            if parsed is not None:
                return clock.sf_datetime(parsed)
        raise fail()
    if ftype == "time":
        return str(value)
    if ftype == "base64":
        if not isinstance(value, str):
            raise fail()
        try:
            return base64.b64decode(value.encode("ascii"), validate=False)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise fail() from None
    # address/location compounds are read-only; anything else is stored as given
    return value


def _datetime_to_date(text: str) -> str:
    parsed = clock.parse_datetime(text)
    if parsed is None:
        raise ValueError(text)
    return parsed.date().isoformat()


def check_value(fld: FieldMeta, value: Any) -> tuple[Any, SfError | None]:
    """Per-record value rules after coercion; returns the (possibly rounded) value."""
    if value is None:
        return None, None
    ftype = fld.type
    if ftype in ("string", "textarea", "email", "phone", "url", "combobox", "encryptedstring",
                 "picklist", "multipicklist"):
        if fld.length and len(value) > fld.length:
            return value, SfError(
                "STRING_TOO_LONG",
                f"{fld.label}: data value too large: {value} (max length={fld.length})",
                [fld.name])
        if ftype == "email" and value and not EMAIL_RE.match(value):
            return value, SfError("INVALID_EMAIL_ADDRESS",
                                  f"{fld.label}: invalid email address: {value}", [fld.name])
        if fld.restricted and ftype == "picklist" and value not in fld.picklist:
            return value, SfError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                  f"{fld.label}: bad value for restricted picklist field: {value}",
                                  [fld.name])
        if fld.restricted and ftype == "multipicklist":
            bad = [v for v in value.split(";") if v not in fld.picklist]
            if bad:
                return value, SfError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{fld.label}: bad value for restricted picklist field: {bad[0]}", [fld.name])
        return value, None
    if ftype in ("double", "currency", "percent"):
        try:
            dec = Decimal(str(value))
        except InvalidOperation:
            return value, type_error(fld, value)
        if fld.precision:
            dec = dec.quantize(Decimal(1).scaleb(-fld.scale), rounding=ROUND_HALF_UP)
            integer_digits = len(str(abs(int(dec)))) if int(dec) != 0 else 0
            if integer_digits > fld.precision - fld.scale:
                return value, SfError(
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    f"{fld.label}: value outside of valid range on numeric field: {value}",
                    [fld.name])
        rounded = float(dec)
        return (int(rounded) if fld.scale == 0 and rounded.is_integer() and isinstance(value, int)
                else rounded), None
    if ftype == "int":
        limit = 10 ** (fld.digits or 9)
        if abs(value) >= limit or abs(value) > 2**31 - 1:
            return value, SfError(
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"{fld.label}: value outside of valid range on numeric field: {value}", [fld.name])
        return value, None
    if ftype == "reference":
        full = ids.normalize(value)
        if full is None:
            return value, SfError("MALFORMED_ID",
                                  f"{fld.label}: id value of incorrect type: {value}", [fld.name])
        return full, None
    return value, None


class RuleEvaluator:
    """Evaluates the org definition's declarative validation rules on a merged record."""

    OPS = {
        "<": lambda a, b: a is not None and a < b,
        "<=": lambda a, b: a is not None and a <= b,
        ">": lambda a, b: a is not None and a > b,
        ">=": lambda a, b: a is not None and a >= b,
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "blank": lambda a, _b: a in (None, ""),
        "not_blank": lambda a, _b: a not in (None, ""),
        "in": lambda a, b: a in b,
        "not_in": lambda a, b: a not in b,
    }

    @classmethod
    def matches(cls, cond: dict[str, Any], record: dict[str, Any]) -> bool:
        if "all" in cond:
            return all(cls.matches(c, record) for c in cond["all"])
        if "any" in cond:
            return any(cls.matches(c, record) for c in cond["any"])
        if "not" in cond:
            return not cls.matches(cond["not"], record)
        op = cls.OPS[cond.get("op", "=")]
        try:
            return bool(op(record.get(cond["field"]), cond.get("value")))
        except TypeError:
            return False


class Validator:
    """Validation of one object's payloads for users of one profile."""

    def __init__(self, schema: OrgSchema, obj: ObjectMeta, profile: Profile,
                 rules: list[ValidationRule]):
        self.obj = obj
        self.profile = profile
        self.visible = schema.visible_fields(profile, obj)
        self.writable_create = {k for k, f in self.visible.items()
                                if f.createable and schema.field_access(profile, obj, f) == "edit"}
        self.writable_update = {k for k, f in self.visible.items()
                                if f.updateable and schema.field_access(profile, obj, f) == "edit"}
        self.required = [f for f in obj.fields.values() if f.required_on_create]
        self.defaults = [f for f in obj.fields.values()
                         if f.defaulted and f.createable and f.type != "reference"]
        self.rules = [r for r in rules if r.object == obj.name and r.active]
        self.references = [f for f in obj.fields.values() if f.type == "reference"]
        self.unique = [f for f in obj.fields.values() if f.unique]
        # Precomputed per object: these run for every record written (Opportunity has ~60 fields).
        self.keyed = [f for f in obj.fields.values() if f.unique or f.external_id]
        self.stored_refs = [f for f in self.references if f.name not in ("CreatedById", "LastModifiedById")]
        self.booleans = [f for f in obj.fields.values() if f.type == "boolean"]

    def resolve(self, key: str) -> FieldMeta | None:
        return self.visible.get(key.lower())

    def prepare(self, payload: dict[str, Any], creating: bool, raw: str | None = None,
                csv: bool = False) -> tuple[dict[str, Any], list[SfError]]:
        """Coerce and check the sent fields. RequestError for whole-request failures."""
        changes: dict[str, Any] = {}
        errors: list[SfError] = []
        readonly: list[str] = []
        writable = self.writable_create if creating else self.writable_update
        for key, value in payload.items():
            if key.lower() == "attributes":
                continue
            fld = self.visible.get(key.lower())
            if fld is None:
                errors.append(SfError("INVALID_FIELD", f"No such column '{key}' on sobject of "
                                      f"type {self.obj.name}", []))
                continue
            if key.lower() not in writable:
                readonly.append(fld.name)
                continue
            stored = coerce(fld, value, key, raw, csv=csv)
            if isinstance(stored, str) and fld.type in ("picklist",) and stored == "":
                stored = None
            stored, err = check_value(fld, stored)
            if err:
                errors.append(err)
            changes[fld.name] = stored
        if readonly:
            errors.insert(0, SfError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(readonly)}. Please check the "
                "security settings of this field and verify that it is read/write for your "
                "profile or permission set.", readonly))
        return changes, errors

    def apply_defaults(self, record: dict[str, Any]) -> None:
        for fld in self.defaults:
            if record.get(fld.name) is None:
                if fld.type == "boolean":
                    record[fld.name] = bool(fld.default_value)
                elif fld.picklist_default is not None:
                    record[fld.name] = fld.picklist_default
        for fld in self.booleans:
            if record.get(fld.name) is None:
                record[fld.name] = bool(fld.default_value)

    def missing_required(self, record: dict[str, Any]) -> SfError | None:
        missing = [f.name for f in self.required if record.get(f.name) in (None, "")]
        if missing:
            return SfError("REQUIRED_FIELD_MISSING",
                           f"Required fields are missing: [{', '.join(missing)}]", missing)
        return None

    def rule_errors(self, record: dict[str, Any]) -> list[SfError]:
        out = []
        for rule in self.rules:
            if RuleEvaluator.matches(rule.when, record):
                out.append(SfError("FIELD_CUSTOM_VALIDATION_EXCEPTION", rule.message,
                                   [rule.error_field] if rule.error_field else []))
        return out
