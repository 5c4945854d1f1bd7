"""Sample citizens and how J-LIS writes their basic four facts into a signing certificate.

docs/jpki.md §2: the name and address are UTF8Strings in which characters outside JIS X 0208
(levels 1 and 2) are replaced by a substitute, and a parallel string of ``0``/``1`` flags marks
the substituted positions. The birth date is ``EYYYYMMDD`` with an era digit; gender is 1/2/3.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from cryptography import x509

from sandbox import profiles


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"
    UNSPECIFIED = "unspecified"


GENDER_CODE = {Gender.MALE: "1", Gender.FEMALE: "2", Gender.UNSPECIFIED: "3"}

# (first day, era digit). docs/jpki.md §2: 1 Meiji, 2 Taishō, 3 Shōwa, 4 Heisei, 5 Reiwa.
ERAS = (
    (dt.date(2019, 5, 1), 5),
    (dt.date(1989, 1, 8), 4),
    (dt.date(1926, 12, 25), 3),
    (dt.date(1912, 7, 30), 2),
    (dt.date(1868, 10, 23), 1),
)

# Characters outside JIS X 0208 that registries commonly hold, with the character J-LIS puts in
# their place. Anything else outside JIS X 0208 becomes the geta mark.
SUBSTITUTES = {"髙": "高", "﨑": "崎", "𠮷": "吉", "德": "徳", "栁": "柳", "琇": "秀"}
GETA = "〓"

PREFECTURES = {
    "北海道": "Hokkaido", "青森県": "Aomori-ken", "岩手県": "Iwate-ken", "宮城県": "Miyagi-ken",
    "秋田県": "Akita-ken", "山形県": "Yamagata-ken", "福島県": "Fukushima-ken",
    "茨城県": "Ibaraki-ken", "栃木県": "Tochigi-ken", "群馬県": "Gunma-ken",
    "埼玉県": "Saitama-ken", "千葉県": "Chiba-ken", "東京都": "Tokyo-to",
    "神奈川県": "Kanagawa-ken", "新潟県": "Niigata-ken", "富山県": "Toyama-ken",
    "石川県": "Ishikawa-ken", "福井県": "Fukui-ken", "山梨県": "Yamanashi-ken",
    "長野県": "Nagano-ken", "岐阜県": "Gifu-ken", "静岡県": "Shizuoka-ken",
    "愛知県": "Aichi-ken", "三重県": "Mie-ken", "滋賀県": "Shiga-ken", "京都府": "Kyoto-fu",
    "大阪府": "Osaka-fu", "兵庫県": "Hyogo-ken", "奈良県": "Nara-ken",
    "和歌山県": "Wakayama-ken", "鳥取県": "Tottori-ken", "島根県": "Shimane-ken",
    "岡山県": "Okayama-ken", "広島県": "Hiroshima-ken", "山口県": "Yamaguchi-ken",
    "徳島県": "Tokushima-ken", "香川県": "Kagawa-ken", "愛媛県": "Ehime-ken",
    "高知県": "Kochi-ken", "福岡県": "Fukuoka-ken", "佐賀県": "Saga-ken",
    "長崎県": "Nagasaki-ken", "熊本県": "Kumamoto-ken", "大分県": "Oita-ken",
    "宮崎県": "Miyazaki-ken", "鹿児島県": "Kagoshima-ken", "沖縄県": "Okinawa-ken",
}  # fmt: skip


@dataclass(frozen=True)
class Citizen:
    """A resident as the basic resident register knows them (before any substitution)."""

    name: str
    """Family name, U+3000, given name."""
    address: str
    birthdate: dt.date
    gender: Gender
    municipality_romaji: str | None = None

    @property
    def prefecture(self) -> str:
        for prefecture in PREFECTURES:
            if self.address.startswith(prefecture):
                return prefecture
        raise ValueError(f"address does not start with a prefecture: {self.address!r}")

    @property
    def municipality(self) -> str:
        """The city, ward, town or village after the prefecture (for the subject's second L)."""
        if self.municipality_romaji:
            return self.municipality_romaji
        rest = self.address.removeprefix(self.prefecture)
        for index, char in enumerate(rest):
            if char in "市区町村":
                return rest[: index + 1]
        return rest


SAMPLE_CITIZENS = (
    Citizen("山田　花子", "東京都清瀬市中里五丁目八四二番地", dt.date(1985, 4, 12), Gender.FEMALE,
            "Kiyose-shi"),
    Citizen("髙橋　一郎", "大阪府大阪市北区梅田一丁目三番一号", dt.date(1972, 11, 3), Gender.MALE,
            "Osaka-shi"),
    Citizen("佐藤　翼", "北海道札幌市中央区北一条西二丁目一番地", dt.date(2001, 8, 20),
            Gender.UNSPECIFIED, "Sapporo-shi"),
)  # fmt: skip
"""The first is ``issue-card``'s default; the second needs the substitute-character field."""


def substitute(text: str) -> tuple[str, str]:
    """Return the text as J-LIS records it and its per-character substitution flags."""
    chars, flags = [], []
    for char in text:
        if _in_jis_x_0208(char):
            chars.append(char)
            flags.append("0")
        else:
            chars.append(SUBSTITUTES.get(char, GETA))
            flags.append("1")
    return "".join(chars), "".join(flags)


def _in_jis_x_0208(char: str) -> bool:
    # ISO-2022-JP holds ASCII and JIS X 0208 only: a strict test of "JIS level 1 or 2".
    try:
        char.encode("iso2022_jp")
    except UnicodeEncodeError:
        return False
    return True


def era_birthdate(birthdate: dt.date) -> str:
    """``EYYYYMMDD``: era digit then the Gregorian date (docs/jpki.md §2, .4)."""
    for first_day, era in ERAS:
        if birthdate >= first_day:
            return f"{era}{birthdate:%Y%m%d}"
    raise ValueError(f"birth date before the Meiji era: {birthdate}")


def other_name(oid: x509.ObjectIdentifier, text: str) -> x509.OtherName:
    """An otherName whose ``[0] EXPLICIT`` value is a UTF8String."""
    return x509.OtherName(oid, _der_utf8string(text))


def _der_utf8string(text: str) -> bytes:
    body = text.encode("utf-8")
    return b"\x0c" + _der_length(len(body)) + body


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(encoded)]) + encoded


def basic_four_facts(citizen: Citizen) -> x509.SubjectAlternativeName:
    """The six otherNames of a signing certificate, in the order real cards carry them."""
    name, name_flags = substitute(citizen.name)
    address, address_flags = substitute(citizen.address)
    values = {
        profiles.OID_NAME: name,
        profiles.OID_BIRTHDATE: era_birthdate(citizen.birthdate),
        profiles.OID_GENDER: GENDER_CODE[citizen.gender],
        profiles.OID_ADDRESS: address,
        profiles.OID_NAME_FLAGS: name_flags,
        profiles.OID_ADDRESS_FLAGS: address_flags,
    }
    return x509.SubjectAlternativeName([other_name(oid, values[oid]) for oid in profiles.SAN_ORDER])
