"""The Results rule's pickers of the 002 seed (improveit 360's Lead Result and Result Reason) and
how to read a result back from the emulator's demo org (the fixtures are in conftest.py)."""

from __future__ import annotations

import pypdfium2

SALE_PICKERS = [{"title": "Lead Result", "options": ["Demo Sold"], "sf_field": "i360__Result__c", "required": True}]
NO_SALE_PICKERS = [
    {"title": "Lead Result", "options": ["Demo Not Sold", "Demo Maybe", "No Demo"], "sf_field": "i360__Result__c", "required": True},
    {"title": "Result Reason", "options": ["Appointment Cancelled", "Too Expensive", "Getting Other Estimates"],
     "sf_field": "i360__Result_Reason__c", "required": False},
]


def admin_sf(emulator):
    return emulator.sf(token=emulator.token("demo", "admin@cothon-demo.example.com"))


def record(emulator, record_id: str) -> dict:
    return admin_sf(emulator).query(
        f"SELECT Id, i360__Result__c, i360__Result_Reason__c FROM i360__Appointment__c WHERE Id = '{record_id}'")["records"][0]


def notes(emulator, record_id: str) -> list[dict]:
    return admin_sf(emulator).query(f"SELECT Id, Title, Body FROM Note WHERE ParentId = '{record_id}'")["records"]


def files(emulator, record_id: str) -> list[dict]:
    sf = admin_sf(emulator)
    docs = [link["ContentDocumentId"] for link in sf.query(
        f"SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = '{record_id}'")["records"]]
    if not docs:
        return []
    quoted = ",".join(f"'{d}'" for d in docs)
    return sf.query(f"SELECT Id, Title, VersionData FROM ContentVersion WHERE ContentDocumentId IN ({quoted})")["records"]


def file_bytes(emulator, version: dict) -> bytes:
    response = admin_sf(emulator).session.get(emulator.instance_url + version["VersionData"],
                                              headers={"Authorization": f"Bearer {emulator.token('demo', 'admin@cothon-demo.example.com')}"})
    return response.content


def pdf_text(data: bytes) -> str:
    document = pypdfium2.PdfDocument(data)
    try:
        return "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    finally:
        document.close()
