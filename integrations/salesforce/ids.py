"""Salesforce record ids as people type them: 15 characters (case-sensitive) or 18 (the 15 plus
a three-character checksum of the case of the first 15, so a case-mangled id is caught)."""

from __future__ import annotations

import string

ID_ALPHABET = frozenset(string.ascii_letters + string.digits)
_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def id_checksum(id15: str) -> str:
    """The three characters Salesforce appends to a 15-character id: one per block of five, each
    encoding which of the block's characters are upper-case letters."""
    suffix = ""
    for block in range(3):
        bits = sum(1 << i for i, char in enumerate(id15[block * 5:block * 5 + 5]) if "A" <= char <= "Z")
        suffix += _CHECKSUM_ALPHABET[bits]
    return suffix


def salesforce_id_problem(value: str) -> str | None:
    """Why `value` is not a well-formed Salesforce record id, or None when it is."""
    if len(value) not in (15, 18):
        return f"A Salesforce record id has 15 or 18 characters; this one has {len(value)}."
    bad = sorted({char for char in value if char not in ID_ALPHABET})
    if bad:
        shown = " ".join(repr(char) for char in bad[:5])
        return f"A Salesforce record id has only letters A–Z, a–z and digits; this one contains {shown}."
    if len(value) == 18 and value[15:] != id_checksum(value[:15]):
        return (f"The last three characters of an 18-character id are a checksum of the first fifteen: "
                f"expected {id_checksum(value[:15])}, found {value[15:]}. Copy the id again from Salesforce.")
    return None
