"""The quote PDF (proposals/quote_pdf.py): what it says, checked on the PDF's own text, and a PNG
of its first page in test-artifacts/quote-pdf.png for a person to look at. The download view:
tenant-scoped, a PDF attachment, another organization's quote a 404."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pypdfium2
import pytest
from django.urls import reverse

from proposals.quote_pdf import quote_pdf_filename, render_quote_pdf
from tests.proposals.quote_world import make_quote

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pdf_text(data: bytes) -> str:
    document = pypdfium2.PdfDocument(data)
    try:
        return "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    finally:
        document.close()


def save_png(data: bytes, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    document = pypdfium2.PdfDocument(data)
    try:
        path = ARTIFACTS / f"{name}.png"
        document[0].render(scale=1.6).to_pil().save(path)
        return path
    finally:
        document.close()


def test_the_pdf_names_the_tenant_the_quote_its_company_person_items_and_totals(alice):
    alice.admin.first_name, alice.admin.last_name = "Ada", "Estimator"
    alice.admin.save()
    quote = make_quote(alice.tenant, owner=alice.admin)
    data = render_quote_pdf(quote)
    assert data.startswith(b"%PDF")
    save_png(data, "quote-pdf")
    (ARTIFACTS / "quote.pdf").write_bytes(data)
    text = " ".join(pdf_text(data).split())

    for expected in ("Alice Bids Inc.", "QUOTE", quote.number, "Bridge inspection services — Ottawa region",
                     "Public Services and Procurement Canada (PSPC)", "Morgan Buyer, Procurement Officer",
                     "morgan.buyer@example.com", "613-555-0199", "Prepared by Ada Estimator",
                     "Valid until March 31, 2031", "Currency CAD", "Status Scoping",
                     "Structural inspection of 14 highway bridges", "Load-rating analysis", "Drone imagery kit rental",
                     "Payment net 30 days from invoice.", "Prices valid for 90 days."):
        assert expected in text, expected
    # The quote's notes are internal: never printed.
    assert "National Capital Region" not in text and "Notes" not in text
    # Each line: kind, quantity and unit, unit price, discount, tax and its net amount.
    assert text.count("SERVICE") == 2 and text.count("PRODUCT") == 1
    assert "12 day 1,450.00 10% 13% 15,660.00" in text          # 17,400 less 10 %
    assert "36.5 hour 185.00 — 13% 6,752.50" in text
    assert "14 each 95.00 5% 13% 1,263.50" in text               # 1,330 less 66.50
    # Totals: 17,400 + 6,752.50 + 1,330 = 25,482.50; discount 1,806.50; tax rounded per line:
    # 2,035.80 + 877.83 + 164.26 = 3,077.89.
    assert quote.total == Decimal("26753.89")
    assert "Subtotal 25,482.50" in text and "Discount −1,806.50" in text and "Tax 3,077.89" in text
    assert "Total CAD 26,753.89" in text
    assert "Page 1 of 1" in text and f"Alice Bids Inc. · Quote {quote.number}" in text


def test_a_quote_without_lines_company_or_terms_still_makes_a_tidy_pdf(alice):
    from proposals.quote_services import quote_create

    quote = quote_create(tenant=alice.tenant, title="Early estimate", contact_name="Jordan Planner")
    text = " ".join(pdf_text(render_quote_pdf(quote)).split())
    assert "No items yet." in text and "Attn: Jordan Planner" in text and "Total CAD 0.00" in text
    assert "Terms" not in text and "Discount" not in text


def test_the_download_is_a_pdf_attachment_named_for_the_quote(alice, web_as):
    quote = make_quote(alice.tenant)
    response = web_as(alice.viewer).get(reverse("proposals:quote_pdf", args=[quote.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{quote_pdf_filename(quote)}"'
    assert quote_pdf_filename(quote) == f"{quote.number.lower()}-bridge-inspection-services-ottawa-region.pdf"
    assert response["Cache-Control"] == "private, no-store"
    assert "Total CAD 26,753.89" in " ".join(pdf_text(response.content).split())


@pytest.mark.parametrize("who", ["other tenant", "anonymous"])
def test_another_organizations_quote_pdf_is_a_404_and_anonymous_goes_to_login(alice, bob, web_as, client, who):
    quote = make_quote(alice.tenant)
    url = reverse("proposals:quote_pdf", args=[quote.pk])
    if who == "other tenant":
        assert web_as(bob.admin).get(url).status_code == 404
    else:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_long_quote_runs_over_pages_with_the_table_header_repeated_and_pages_numbered(alice):
    lines = [("service" if i % 2 else "product", f"Work package {i:02d}: site visit, measurements and report", "day",
              "2", "750.00", "0", "13") for i in range(1, 41)]
    quote = make_quote(alice.tenant, lines=lines)
    document = pypdfium2.PdfDocument(render_quote_pdf(quote))
    try:
        pages = [" ".join(document[i].get_textpage().get_text_range().split()) for i in range(len(document))]
    finally:
        document.close()
    assert len(pages) >= 2
    assert all("DESCRIPTION" in page for page in pages[:-1])  # the lines' header on every page with lines
    assert all(f"Page {n} of {len(pages)}" in page for n, page in enumerate(pages, start=1))
    text = " ".join(pages)
    assert all(f"Work package {i:02d}" in text for i in range(1, 41))
    assert "Total CAD 67,800.00" in text  # 40 × 1,500 + 13 % tax
