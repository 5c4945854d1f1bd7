"""The signature's visible stamp in the contract's field: Japanese and English with the time in
Japan, drawn with the system's Noto Sans CJK JP, or English alone without that font."""

from __future__ import annotations

import datetime as dt
import subprocess
from decimal import Decimal

import pytest

from examples.relying_party import contract, contract_pdf
from idp.documents import appearance, pades

TERMS = contract.Terms(
    "山田\u3000花子", 30_000_000, 35, Decimal("1.80"), 96_327, "SB-STAMP",
    "東京都清瀬市中里五丁目八四二番地", "2026-12-08",
)  # fmt: skip
SIGNED_AT = dt.datetime(2026, 12, 8, 1, 15, tzinfo=dt.UTC)


def _text(pdf: bytes, tmp_path) -> str:
    (tmp_path / "prepared.pdf").write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(tmp_path / "prepared.pdf"), "-"],
                         capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    return out.stdout


@pytest.fixture
def contract_file() -> bytes:
    if not contract_pdf.FONT_FOLDER.is_dir():
        pytest.skip("no Noto CJK on this machine (script/bootstrap installs fonts-noto-cjk)")
    return contract_pdf.render(TERMS)


def test_the_stamp_says_how_and_when_in_japanese_and_english(contract_file, tmp_path):
    prepared = pades.prepare(contract_file, SIGNED_AT).data
    text = _text(prepared, tmp_path)
    assert "マイナンバーカードで署名" in text
    assert "Signed with a My Number Card" in text
    assert "2026-12-08 10:15 JST" in text  # 01:15 UTC is 10:15 in Japan
    assert prepared.startswith(contract_file)


def test_without_the_japanese_font_the_stamp_is_english(contract_file, tmp_path, monkeypatch):
    monkeypatch.setattr(appearance, "FONT_COLLECTION", tmp_path / "missing.ttc")
    appearance._japanese_font.cache_clear()
    try:
        text = _text(pades.prepare(contract_file, SIGNED_AT).data, tmp_path)
    finally:
        appearance._japanese_font.cache_clear()
    assert "Signed with a My Number Card" in text
    assert "2026-12-08 10:15 JST" in text
    assert "マイナンバーカードで署名" not in text
