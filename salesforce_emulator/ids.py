"""Salesforce record ids: 15-character case-sensitive ids, their 18-character form, key prefixes."""

from __future__ import annotations

import re

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")

# Key prefixes of the standard objects the emulator knows. Custom objects get theirs from the
# org definition (a00, a01, ... in declaration order unless given).
STANDARD_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "Lead": "00Q",
    "Case": "500",
    "Task": "00T",
    "Event": "00U",
    "Note": "002",
    "Attachment": "00P",
    "ContentVersion": "068",
    "ContentDocument": "069",
    "ContentDocumentLink": "06A",
    "User": "005",
    "Profile": "00e",
    "Organization": "00D",
    "RecordType": "012",
    "OpportunityContactRole": "00K",
    "OpportunityTeamMember": "00q",
}

# The "pod" characters real ids carry after the prefix; fixed so ids look familiar.
_POD = "5g0"


def to_18(id15: str) -> str:
    """Append the 3-character case-folding checksum Salesforce adds to 15-character ids."""
    if len(id15) == 18:
        return id15
    suffix = ""
    for chunk in range(3):
        bits = 0
        for pos in range(5):
            ch = id15[chunk * 5 + pos]
            if "A" <= ch <= "Z":
                bits |= 1 << pos
        suffix += _SUFFIX[bits]
    return id15 + suffix


def normalize(value: str) -> str | None:
    """The 18-character form of a 15/18-character id, or None when it is not id-shaped.

    An 18-character id whose checksum does not match its first 15 characters is invalid,
    as in Salesforce (the checksum encodes their capitalisation).
    """
    if not isinstance(value, str) or not ID_RE.match(value):
        return None
    full = to_18(value[:15])
    if len(value) == 18 and value[15:].upper() != full[15:]:
        return None
    return full


def base62(num: int, width: int) -> str:
    out = ""
    while num:
        num, rem = divmod(num, 62)
        out = BASE62[rem] + out
    out = out.rjust(width, "0")
    if len(out) > width:
        raise OverflowError("id space exhausted")
    return out


def make_id(prefix: str, seq: int) -> str:
    """A runtime id: prefix + pod + 9 base-62 digits of a store-wide sequence (first digit 0-9)."""
    return to_18(prefix + _POD + base62(seq, 9))


def make_seed_id(prefix: str, org_code: str, index: int) -> str:
    """A fixed id for seeded records, stable across resets ('S' + org letter marks them)."""
    return to_18(prefix + _POD + "S" + org_code[:1] + base62(index, 7))


def prefix_of(record_id: str) -> str:
    return record_id[:3]
