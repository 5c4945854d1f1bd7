"""The signature's visible appearance: what the contract's signature field shows once signed.

It is drawn when the IdP prepares the file, before the card signs, because it is part of what
the signature covers. The signer's certificate (and so their name) is read from the card only in
the same operation that signs (bridge-protocol.md §9), so the stamp names the means and the time
(in Japan): "マイナンバーカードで署名 / Signed with a My Number Card / 2026-12-08 10:15 JST". The
signer's name is in the signature's certificate, which every PDF reader shows, and in the
contract's own text. Japanese needs a CJK font: the system's Noto Sans CJK JP (Debian's
fonts-noto-cjk), whose first face pyHanko embeds as a subset; without it the stamp is English.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import tempfile
from pathlib import Path

from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.stamp import TextStampStyle

FONT_COLLECTION = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
JST = dt.timezone(dt.timedelta(hours=9), "JST")
TEXT = "マイナンバーカードで署名\nSigned with a My Number Card\n%(signed_at)s"
ENGLISH_TEXT = "Signed with a My Number Card\n%(signed_at)s"


def stamp_style() -> TextStampStyle:
    """Japanese and English with the CJK font, else English in pyHanko's built-in font."""
    font = _japanese_font()
    if font is None:
        return TextStampStyle(stamp_text=ENGLISH_TEXT)
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory

    box = TextBoxStyle(font=GlyphAccumulatorFactory(font, font_size=9))
    return TextStampStyle(stamp_text=TEXT, text_box_style=box)


def text_params(signed_at: dt.datetime) -> dict[str, str]:
    return {"signed_at": signed_at.astimezone(JST).strftime("%Y-%m-%d %H:%M JST")}


@functools.cache
def _japanese_font() -> str | None:
    """The collection's Japanese face as a font file of its own (pyHanko reads no collections),
    written once per machine user beside the other temporary files; None without the font or
    pyHanko's OpenType support (fontTools, uharfbuzz)."""
    try:
        import uharfbuzz  # noqa: F401
        from fontTools.ttLib import TTFont
    except ImportError:
        return None
    if not FONT_COLLECTION.is_file():
        return None
    target = Path(tempfile.gettempdir()) / f"jpki-idp-noto-sans-cjk-jp-{os.getuid()}.otf"
    if not target.is_file():
        partial = target.with_name(f"{target.name}.{os.getpid()}")
        TTFont(FONT_COLLECTION, fontNumber=0).save(partial)
        partial.replace(target)
    return str(target)
