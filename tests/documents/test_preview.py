"""The review page's preview: the first page of the submitted PDF, rendered by the IdP from the
bytes it will sign, served from its own origin under the page's CSP, and only to the citizen
the service named. What the citizen saw is what the signed file shows (but for the signature's
appearance in its field)."""

from __future__ import annotations

import base64
import io
import subprocess
from decimal import Decimal

from fpdf import FPDF
from PIL import Image, ImageChops

from examples.relying_party import contract, contract_pdf
from idp.documents import preview
from idp.services import services
from idp.storage.ephemeral import EPHEMERAL
from tests.documents.conftest import REDIRECT, bind_card, log_in, open_review, register

TERMS = contract.Terms(
    "山田\u3000花子", 30_000_000, 35, Decimal("1.80"), 96_327, "SB-PREVIEW",
    "東京都清瀬市中里五丁目八四二番地", "2026-12-08",
)  # fmt: skip


def _submit_pdf(bank, pdf: bytes, account_id: str = "citizen-1") -> str:
    response = bank.submit(
        sub=bank.sub(account_id),
        title="住宅ローン金銭消費貸借契約書",
        summary="借入額 3,000万円",
        pdf=base64.b64encode(pdf).decode("ascii"),
        redirect_uri=REDIRECT,
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["document_id"]


def _pdftoppm(pdf: bytes, page: int = 1) -> Image.Image:
    """The page as poppler draws it at the preview's size, run here independently."""
    size = str(preview.LONG_SIDE)
    command = ["pdftoppm", "-png", "-f", str(page), "-l", str(page), "-singlefile",
               "-scale-to", size, "-aa", "yes", "-aaVector", "yes", "-"]  # fmt: skip
    png = subprocess.run(command, input=pdf, capture_output=True, check=True, timeout=60).stdout
    return Image.open(io.BytesIO(png)).convert("RGB")


def _png(response) -> Image.Image:
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"] == "image/png"
    return Image.open(io.BytesIO(response.get_data())).convert("RGB")


def _same(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and ImageChops.difference(a, b).getbbox() is None


def test_the_review_page_shows_the_first_page_of_the_pdf_it_will_sign(bank, world):
    pdf = contract_pdf.render(TERMS)
    document_id = _submit_pdf(bank, pdf)
    page = open_review(bank.rp.http, document_id)
    src = f'src="/documents/{document_id}/preview.png" id="document-preview"'
    assert src in page.html
    assert 'alt="文書の1ページ目"' in page.html
    assert "このサイトがファイルそのものから描いています" in page.html
    response = bank.rp.http.get(f"/documents/{document_id}/preview.png")
    shown = _png(response)
    assert "img-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert max(shown.size) == preview.LONG_SIDE
    assert _same(shown, _pdftoppm(pdf))  # the page the service sent, exactly

    signed = page.sign(world.good)
    assert signed.status_code == 303, signed.get_data(as_text=True)
    signed_pdf = bank.status(document_id, "/signed.pdf").get_data()
    after = _pdftoppm(signed_pdf)
    scale = preview.LONG_SIDE / 842
    x1, y1, x2, y2 = (round(v * scale) for v in contract_pdf.SIGNATURE_BOX)
    field = (x1 - 2, shown.height - y2 - 2, x2 + 2, shown.height - y1 + 2)
    for image in (shown, after):
        image.paste((255, 255, 255), field)
    assert _same(shown, after)  # all but the signature's field is what the citizen saw


def test_only_the_first_page_is_shown(bank):
    pdf = FPDF(format="A4")
    for text in ("FIRST PAGE", "SECOND PAGE"):
        pdf.add_page()
        pdf.set_font("helvetica", "B", 40)
        pdf.cell(0, 40, text)
    data = bytes(pdf.output())
    document_id = _submit_pdf(bank, data)
    shown = _png(bank.rp.http.get(f"/documents/{document_id}/preview.png"))
    assert _same(shown, _pdftoppm(data, 1))
    assert not _same(shown, _pdftoppm(data, 2))


def test_the_preview_is_rendered_once_and_kept_until_the_request_expires(bank, monkeypatch):
    document_id = _submit_pdf(bank, contract_pdf.render(TERMS))
    first = bank.rp.http.get(f"/documents/{document_id}/preview.png").get_data()
    with bank.app.app_context():
        from idp.storage.db import db
        from idp.storage.documents import DocumentRequest

        document = db.session.get(DocumentRequest, document_id)
        assert services(bank.app)[EPHEMERAL].get(preview._key(document)) == first
    monkeypatch.setattr(preview, "render_first_page", lambda _pdf: b"not rendered again")
    assert bank.rp.http.get(f"/documents/{document_id}/preview.png").get_data() == first


def test_another_person_or_no_session_sees_no_preview(app, world, bank):
    document_id = _submit_pdf(bank, contract_pdf.render(TERMS))
    other = register(app, "Other Bank")  # a browser logged in as someone else
    bind_card(app, world.revoked, "citizen-2")
    log_in(other, "citizen-2")
    refused = other.http.get(f"/documents/{document_id}/preview.png")
    assert refused.status_code == 403
    assert refused.headers["Content-Type"].startswith("text/html")
    anonymous = app.test_client().get(f"/documents/{document_id}/preview.png")
    assert anonymous.status_code == 403
    assert b"PNG" not in anonymous.get_data()[:8]


def test_a_digest_only_request_has_no_preview(bank):
    answer = bank.document()
    page = open_review(bank.rp.http, answer["document_id"])
    assert "document-preview" not in page.html
    assert bank.rp.http.get(f"/documents/{answer['document_id']}/preview.png").status_code == 404


def test_a_pdf_the_renderer_cannot_draw_leaves_the_page_working(bank, monkeypatch):
    document_id = _submit_pdf(bank, contract_pdf.render(TERMS))
    monkeypatch.setattr(preview, "TIMEOUT", 0.001)  # a page that takes too long to draw
    assert bank.rp.http.get(f"/documents/{document_id}/preview.png").status_code == 503
    monkeypatch.undo()
    assert open_review(bank.rp.http, document_id).html  # the review page itself still works
    no_pages = contract_pdf.render(TERMS).replace(b"/Count 1", b"/Count 0")
    broken = _submit_pdf(bank, no_pages)
    assert bank.rp.http.get(f"/documents/{broken}/preview.png").status_code == 503
