"""The loan contract as a document a borrower can read: A4, in Japanese with English beside it.

It names the borrower as the IdP verified them (name and address from the signing certificate,
released as ``verified_claims``), the amount, rate, term, monthly payment and the date, and has
an empty signature field on its first page where the borrower's signature is shown once signed.

Written with fpdf2 (a well-kept PDF writer that embeds OpenType fonts with CFF outlines as CID
Type 0C and subsets them), in the system's Noto Sans CJK JP (Debian's fonts-noto-cjk; CFF-based
OpenType in a collection), so the text is in the file and extracts back as Unicode (each glyph
has a ToUnicode entry). The signature field is added with pyHanko (fpdf2 makes no empty
signature fields), into one plain file rather than an incremental update.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, WrapMode, XPos, YPos
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer
from pyhanko.sign.fields import SigFieldSpec, append_signature_field

from .contract import Terms

FONT_FOLDER = Path("/usr/share/fonts/opentype/noto")
FONTS = {"": "NotoSansCJK-Regular.ttc", "B": "NotoSansCJK-Bold.ttc"}
JAPANESE = 0
"""Noto Sans CJK JP: the first face of each collection (then KR, SC, TC, HK)."""
FAMILY = "NotoSansCJKjp"

SIGNATURE_FIELD = "JPKI-Signature"
"""The field the IdP signs into (the name it gives its own signature field, so the signature
lands here, not in a new invisible one)."""
SIGNATURE_PAGE = 0
"""The first page, the one the IdP's review page shows as its preview."""
SIGNATURE_BOX = (318, 70, 538, 160)
"""The field's rectangle in PDF points (x1, y1, x2, y2; origin at the bottom left of the A4
page, 595 × 842 pt): lower right, inside the 20 mm margins, under its label; the signature's
appearance (who signed and when) is drawn in it."""
LENDER = "株式会社サンプル銀行"
LENDER_EN = "Sample Bank, Ltd. (fictional)"
JAPAN = dt.timezone(dt.timedelta(hours=9))
POINT = 25.4 / 72
"""One PDF point in millimetres (the unit this layout is written in)."""


class FontMissing(RuntimeError):
    """Noto Sans CJK is not installed (Debian: fonts-noto-cjk)."""


def contract_date(now: dt.datetime | None = None) -> str:
    """Today in Japan, ISO 8601: the contract's date."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(JAPAN).date().isoformat()


def _japanese_date(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    return f"{day.year}年{day.month}月{day.day}日"


def _english_date(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    return f"{day.day} {day:%B %Y}"


def _rows(terms: Terms) -> list[tuple[str, str, str]]:
    """(label, Japanese value, English value) of the terms table."""
    months = terms.years * 12
    return [
        ("借入金額 Loan amount", f"{terms.amount:,}円", f"JPY {terms.amount:,}"),
        ("借入期間 Term", f"{terms.years}年（{months}回払い）",
         f"{terms.years} years, {months} payments"),
        ("金利 Interest rate", f"年{terms.rate_percent:.2f}%（固定金利）",
         f"{terms.rate_percent:.2f}% a year, fixed"),
        ("毎月返済額 Monthly payment", f"{terms.monthly_payment:,}円",
         f"JPY {terms.monthly_payment:,}"),
        ("返済方法 Repayment", "元利均等毎月返済", "Equal monthly instalments"),
    ]  # fmt: skip


CLAUSES = [
    (
        "第1条（借入れ）借主は、貸主から上記の借入金額を上記の条件で借り受けます。",
        "Art. 1 (Loan) The borrower borrows the loan amount above from the lender on the terms"
        " above.",
    ),
    (
        "第2条（返済）借主は、借入期間にわたり、毎月返済額を毎月の返済日に支払います。",
        "Art. 2 (Repayment) The borrower pays the monthly payment on each monthly due date over"
        " the term.",
    ),
    (
        "第3条（電子署名）この契約は、借主がマイナンバーカードの署名用電子証明書（公的個人認証"
        "サービス）で電子署名することにより成立します。署名後の契約書は変更できません。",
        "Art. 3 (Electronic signature) This agreement is concluded when the borrower signs it with"
        " the signing certificate of their My Number Card (JPKI). A signed agreement cannot be"
        " changed.",
    ),
]


def _font_path(style: str) -> Path:
    path = FONT_FOLDER / FONTS[style]
    if not path.is_file():
        raise FontMissing(f"{path} is missing: install Debian's fonts-noto-cjk")
    return path


class _Contract(FPDF):
    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FAMILY, "", 7.5)
        self.set_text_color(90)
        self.cell(0, 4, "架空の銀行による見本です。実際の契約ではありません。"
                  " A fictional bank's sample; not a real offer.", align=Align.C)  # fmt: skip


def _document(terms: Terms) -> FPDF:
    terms = replace(terms, dated=terms.dated or contract_date())
    pdf = _Contract(format="A4", unit="mm")
    for style in FONTS:
        pdf.add_font(FAMILY, style, str(_font_path(style)), collection_font_number=JAPANESE)
    pdf.set_title(f"住宅ローン金銭消費貸借契約書 {terms.reference}")
    pdf.set_author(LENDER)
    pdf.set_lang("ja")
    pdf.set_creation_date(dt.datetime.fromisoformat(terms.dated).replace(tzinfo=JAPAN))
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(20, 18, 20)
    pdf.add_page()
    _heading(pdf, terms)
    _parties(pdf, terms)
    _terms_table(pdf, terms)
    _clauses(pdf)
    _signature_label(pdf)
    return pdf


def _heading(pdf: FPDF, terms: Terms) -> None:
    pdf.set_font(FAMILY, "B", 18)
    pdf.cell(
        0, 10, "住宅ローン金銭消費貸借契約書", align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.set_font(FAMILY, "", 10)
    pdf.set_text_color(80)
    pdf.cell(0, 6, "Mortgage Loan Agreement", align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0)
    pdf.ln(3)
    for line in (
        f"契約番号 Reference: {terms.reference}",
        f"契約日 Date: {_japanese_date(terms.dated)} ({_english_date(terms.dated)})",
    ):
        pdf.cell(0, 5.5, line, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)


def _parties(pdf: FPDF, terms: Terms) -> None:
    rows = [
        ("貸主 Lender", f"{LENDER}（{LENDER_EN}）"),
        ("借主 Borrower", terms.applicant),
        ("借主の住所 Address", terms.address),
        ("本人確認 Identity", "マイナンバーカードの署名用電子証明書で確認済み\n"
                             "Verified with the My Number Card's signing certificate"),
    ]  # fmt: skip
    _table(pdf, rows, (42, 128))


def _terms_table(pdf: FPDF, terms: Terms) -> None:
    pdf.ln(5)
    pdf.set_font(FAMILY, "B", 11)
    pdf.cell(0, 7, "契約条件 Terms", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    rows = [(label, f"{ja} / {en}") for label, ja, en in _rows(terms)]
    _table(pdf, rows, (52, 118))


def _table(pdf: FPDF, rows: list[tuple[str, str]], widths: tuple[int, int]) -> None:
    pdf.set_font(FAMILY, "", 10)
    with pdf.table(
        col_widths=widths,
        first_row_as_headings=False,
        line_height=6,
        padding=1.5,
        text_align=(Align.L, Align.L),
        wrapmode=WrapMode.CHAR,
    ) as table:
        for label, value in rows:
            row = table.row()
            row.cell(label)
            row.cell(value)


def _clauses(pdf: FPDF) -> None:
    pdf.ln(5)
    pdf.set_font(FAMILY, "B", 11)
    pdf.cell(0, 7, "契約条項 Clauses", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for japanese, english in CLAUSES:
        pdf.set_font(FAMILY, "", 10)
        pdf.set_text_color(0)
        pdf.multi_cell(0, 5.5, japanese, align=Align.L, wrapmode=WrapMode.CHAR,
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
        pdf.set_font(FAMILY, "", 8.5)
        pdf.set_text_color(80)
        pdf.multi_cell(0, 4.5, english, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)
    pdf.set_text_color(0)


def _signature_label(pdf: FPDF) -> None:
    """The label above the field and a frame around it, so the place shows before signing."""
    x1, y1, x2, y2 = SIGNATURE_BOX
    height = pdf.h / POINT
    left, top = x1 * POINT, (height - y2) * POINT
    pdf.set_font(FAMILY, "B", 10)
    pdf.set_xy(left, top - 7)
    pdf.cell((x2 - x1) * POINT, 6, "借主署名欄 Borrower's signature")
    pdf.set_draw_color(120)
    pdf.rect(left, top, (x2 - x1) * POINT, (y2 - y1) * POINT)


def render(terms: Terms) -> bytes:
    """The contract PDF, one A4 page, with its empty signature field."""
    body = bytes(_document(terms).output())
    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(body)))
    spec = SigFieldSpec(SIGNATURE_FIELD, on_page=SIGNATURE_PAGE, box=SIGNATURE_BOX)
    append_signature_field(writer, spec)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
