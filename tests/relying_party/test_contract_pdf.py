"""The contract PDF a borrower reads: Japanese in an embedded, subset Noto Sans CJK JP that
renders (poppler's pdftoppm) and extracts back (pdftotext) with the borrower's verified name and
address, the terms and the date, and an empty signature field that the IdP signs into.

The rendered page is kept as ``test-artifacts/contract/<test>.png`` for a person to look at."""

from __future__ import annotations

import io
import re
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageStat
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields

from examples.relying_party import contract, contract_pdf

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "contract"
DPI = 100


def mm(length: float) -> int:
    """A length on the page in pixels at ``DPI``."""
    return round(length / 25.4 * DPI)


TERMS = contract.Terms(
    applicant="山田\u3000花子",
    amount=30_000_000,
    years=35,
    rate_percent=Decimal("1.80"),
    monthly_payment=96_327,
    reference="SB-0A1B2C3D",
    address="東京都清瀬市中里五丁目八四二番地",
    dated="2026-12-08",
)


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return contract_pdf.render(TERMS)


def _run(*command: str, data: bytes) -> bytes:
    return subprocess.run(command, input=data, capture_output=True, check=True, timeout=60).stdout


def _text(pdf: bytes) -> str:
    """pdftotext's reading, spaces collapsed (poppler gives U+3000 back as a space)."""
    return re.sub(r"\s+", " ", _run("pdftotext", "-raw", "-", "-", data=pdf).decode())


def _page_image(pdf: bytes, name: str, dpi: int = 60) -> Image.Image:
    png = _run(
        "pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", "-", data=pdf
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.png").write_bytes(png)
    return Image.open(io.BytesIO(png)).convert("L")


def test_the_text_extracts_with_the_borrowers_verified_name_address_and_terms(pdf):
    text = _text(pdf)
    assert "住宅ローン金銭消費貸借契約書" in text
    assert "借主 Borrower 山田 花子" in text
    assert "東京都清瀬市中里五丁目八四二番地" in text
    assert "30,000,000円" in text
    assert "年1.80%（固定金利）" in text
    assert "35年（420回払い）" in text
    assert "96,327円" in text
    assert "2026年12月8日" in text
    assert "SB-0A1B2C3D" in text
    assert "借主署名欄" in text


def test_the_japanese_font_is_embedded_and_subset(pdf):
    """pdffonts: every font is the system's Noto Sans CJK JP, CFF outlines as CID Type 0C,
    embedded (``emb``), subset (``sub``) and with a ToUnicode map (``uni``)."""
    lines = _run("pdffonts", "-", data=pdf).decode().splitlines()[2:]
    assert len(lines) == 2  # regular and bold
    for line in lines:
        name, *_, emb, sub, uni, _obj, _gen = line.split()
        assert re.fullmatch(r"[A-Z]{6}\+NotoSansCJKJP(Bold)?", name), line
        assert "CID Type 0C" in line
        assert (emb, sub, uni) == ("yes", "yes", "yes"), line
    assert len(pdf) < 200_000  # subset: the font collection alone is 19 MB


def _ink(image: Image.Image) -> Image.Image:
    """The image cropped to its ink (pixels darker than mid-grey)."""
    box = image.point(lambda v: 255 if v < 128 else 0).getbbox()
    assert box is not None, "no ink"
    return image.crop(box)


def test_the_page_renders_in_japanese(pdf, request):
    """The title's glyphs are drawn, not boxes or blanks: the title band of the rendered page
    is the title as Pillow draws it from the same font file (same ink extent, same shapes)."""
    page = _page_image(pdf, request.node.name, dpi=DPI)
    assert page.size == (827, 1170)  # A4 (210 × 297 mm) at 100 dpi, as pdftoppm rounds
    title = _ink(page.crop((0, 0, page.width, mm(28))))  # the title's line: 18 to 28 mm
    font = ImageFont.truetype(
        str(contract_pdf.FONT_FOLDER / contract_pdf.FONTS["B"]), size=18 * DPI / 72, index=0
    )
    drawn = Image.new("L", (page.width, 100), 255)
    ImageDraw.Draw(drawn).text((10, 10), "住宅ローン金銭消費貸借契約書", font=font, fill=0)
    expected = _ink(drawn)
    assert abs(title.width - expected.width) <= 3, (title.size, expected.size)
    assert abs(title.height - expected.height) <= 3, (title.size, expected.size)
    # Mean difference per pixel (0-255): about 32 here (antialiasing, hinting); boxes of
    # .notdef, the serif face or other words of the same length measure 55 or more.
    difference = ImageChops.difference(title.resize(expected.size), expected)
    assert ImageStat.Stat(difference).mean[0] < 45, ImageStat.Stat(difference).mean
    left_of_box = page.crop((0, int(page.height * 0.8), page.width // 2, int(page.height * 0.9)))
    assert left_of_box.getextrema() == (255, 255)  # blank paper beside the signature box


def test_without_noto_cjk_the_contract_is_not_made_in_another_font(monkeypatch, tmp_path):
    monkeypatch.setattr(contract_pdf, "FONT_FOLDER", tmp_path)
    with pytest.raises(contract_pdf.FontMissing, match="fonts-noto-cjk"):
        contract_pdf.render(TERMS)


def test_the_signature_field_is_empty_on_the_first_page_in_its_box(pdf):
    from idp.documents.pades import FIELD_NAME

    reader = PdfFileReader(io.BytesIO(pdf))
    fields = list(enumerate_sig_fields(reader, filled_status=None))
    assert [(name, value) for name, value, _ in fields] == [(contract_pdf.SIGNATURE_FIELD, None)]
    assert contract_pdf.SIGNATURE_FIELD == FIELD_NAME  # the field the IdP signs into
    widget = fields[0][2].get_object()
    assert [float(v) for v in widget["/Rect"]] == list(contract_pdf.SIGNATURE_BOX)
    assert widget["/P"].get_object() == reader.root["/Pages"]["/Kids"][0].get_object()


def test_the_idp_signs_into_the_contracts_field_and_draws_it(pdf, request):
    """The IdP's prepared file fills this field (no second, invisible one), with an appearance
    that pdftoppm draws in the box."""
    from idp.documents import pades

    prepared = pades.prepare(pdf).data
    assert prepared.startswith(pdf)
    fields = list(enumerate_sig_fields(PdfFileReader(io.BytesIO(prepared)), filled_status=None))
    assert [name for name, _, _ in fields] == [contract_pdf.SIGNATURE_FIELD]
    assert fields[0][1] is not None  # the signature dictionary is in the field
    before, after = _page_image(pdf, "unsigned"), _page_image(prepared, request.node.name)
    x1, y1, x2, y2 = (round(v * 60 / 72) for v in contract_pdf.SIGNATURE_BOX)
    box = (x1 + 3, before.height - y2 + 3, x2 - 3, before.height - y1 - 3)
    assert before.crop(box).getextrema() == (255, 255)  # empty before
    assert after.crop(box).getextrema()[0] < 128  # the appearance is drawn in the box


def test_the_contract_date_is_today_in_japan():
    import datetime as dt

    late_evening_utc = dt.datetime(2026, 12, 7, 18, 30, tzinfo=dt.UTC)
    assert contract_pdf.contract_date(late_evening_utc) == "2026-12-08"
