"""HTML → PDF. weasyprint needs system libraries (Pango); import it only when a PDF is made."""

from __future__ import annotations


class PdfRenderingUnavailable(RuntimeError):
    pass


def render_pdf(html: str) -> bytes:
    try:
        from weasyprint import HTML
    except OSError as exc:  # the Python package is there, a system library is not
        raise PdfRenderingUnavailable(
            "PDF rendering needs the Pango library (Debian/Ubuntu: apt-get install libpango-1.0-0 "
            f"libpangoft2-1.0-0): {exc}"
        ) from exc
    return HTML(string=html).write_pdf()
