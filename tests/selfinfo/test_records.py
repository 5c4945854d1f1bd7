"""One import record: its key, category, as_of, data schema, and the My Number refusal.

Reasons name fields and what the schema expects, never the values (they are personal data).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idp.oidc.claims import SELFINFO_CATEGORIES
from idp.selfinfo.categories import check_schemas, schema
from idp.selfinfo.my_number import (
    check_digit_valid,
    holds_my_number,
    looks_like_my_number_key,
    my_number_reason,
)
from idp.selfinfo.records import CertificateKey, Rejected, check_record
from tests.selfinfo.samples import sample

CERT = {"issuer_hash": "ab" * 32, "serial": "00c0ffee", "not_after": 1_900_000_000}


def _record(**changes):
    record = {"account": "acct-1", "category": "income", "data": sample("income")}
    record.update(changes)
    return {k: v for k, v in record.items() if v is not None}


def _reason(record) -> str:
    with pytest.raises(Rejected) as excinfo:
        check_record(record)
    return str(excinfo.value)


def test_schemas_are_valid_2020_12_and_named_after_the_categories():
    check_schemas()
    for category in SELFINFO_CATEGORIES:
        assert schema(category)["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema(category)["$id"].endswith(f":{category}")


@pytest.mark.parametrize("category", SELFINFO_CATEGORIES)
def test_each_sample_is_accepted(category):
    record = check_record(_record(category=category, data=sample(category), as_of="2026-06-01"))
    assert (record.category, record.account, record.as_of) == (category, "acct-1", "2026-06-01")


def test_certificate_key_is_normalised_to_the_binding_spelling():
    record = check_record(_record(account=None, certificate=CERT))
    assert record.certificate == CertificateKey("ab" * 32, "C0FFEE", 1_900_000_000)
    assert record.account is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"account": None}, "exactly one key"),
        ({"certificate": CERT}, "exactly one key"),
        ({"account": ""}, "'account' must be"),
        ({"account": 7}, "'account' must be"),
        ({"account": None, "certificate": {**CERT, "issuer_hash": "AB" * 32}}, "issuer_hash"),
        ({"account": None, "certificate": {**CERT, "serial": "xyz"}}, "serial"),
        ({"account": None, "certificate": {**CERT, "not_after": "soon"}}, "not_after"),
        ({"account": None, "certificate": {**CERT, "subject": "x"}}, "'subject'"),
        ({"account": None, "certificate": "ab"}, "'certificate' must be"),
        ({"category": "tax_id"}, "unknown category 'tax_id'"),
        ({"category": None}, "unknown category"),
        ({"as_of": "2026-02-30"}, "'as_of' must be a date"),
        ({"as_of": "20260601"}, "'as_of' must be a date"),
        ({"data": "{}"}, "'data' must be a JSON object"),
        ({"extra": 1}, "unknown member(s) 'extra'"),
    ],
)
def test_bad_records_are_rejected_with_their_reason(changes, expected):
    assert expected in _reason(_record(**changes))


def test_a_list_is_not_a_record():
    assert "JSON object" in _reason([1, 2])


def test_schema_violations_name_the_field_and_expectation_not_the_value():
    data = sample("income")
    data["resident_tax"]["total"] = -987654
    data["municipality"] = 42
    del data["taxable"]
    data["income"]["lottery"] = 31337
    reason = _reason(_record(data=data))
    assert reason.startswith("data does not match the income schema: ")
    assert "data: missing 'taxable'" in reason
    assert "data.income: unexpected member(s) 'lottery'" in reason
    assert "data.municipality: must be of type 'string'" in reason
    assert "and 1 more" in reason  # the fourth, resident_tax.total ≥ 0
    for value in ("987654", "42", "31337"):
        assert value not in reason


def test_dates_in_data_are_checked_as_dates():
    data = sample("household")
    data["members"][1]["birthdate"] = "2016-02-30"
    assert "data.members[1].birthdate: must be a valid date" in _reason(
        _record(category="household", data=data)
    )


@pytest.mark.parametrize(
    "key", ["my_number", "MyNumber", "individual-number", "kojin_bango", "個人番号", "マイナンバー"]
)
def test_a_field_named_like_a_my_number_is_refused_anywhere(key):
    data = sample("household")
    data["members"][0][key] = "x"
    reason = _reason(_record(category="household", data=data))
    assert "named like a My Number" in reason
    assert "data.members[0]." in reason
    assert "never imported" in reason
    assert "named like a My Number" in _reason({key: "123456789018", **_record()})


@pytest.mark.parametrize(
    "value", ["123456789018", "1234 5678 9018", "1234-5678-9018", 123456789018]
)
def test_a_twelve_digit_value_is_refused_as_a_my_number(value):
    data = sample("health_insurance")
    data["symbol"] = value
    reason = _reason(_record(category="health_insurance", data=data))
    assert "12-digit number" in reason
    assert "data.symbol" in reason
    assert "9018" not in reason


def test_a_twelve_digit_certificate_serial_is_not_a_my_number():
    cert = {**CERT, "serial": "123456789012"}
    assert check_record(_record(account=None, certificate=cert)).certificate.serial == (
        "123456789012"
    )


def test_my_number_guard_keeps_ordinary_numbers_and_names():
    assert my_number_reason({"number": "1234", "insurer_number": "01130012"}) is None
    assert my_number_reason({"amount": 99_999_999_999}) is None
    assert not looks_like_my_number_key("number")
    assert not looks_like_my_number_key("insurer_number")


MY_NUMBER = "123456789018"
"""A number of the My Number's form with a valid check digit (not anyone's: test data)."""


@pytest.mark.parametrize(
    "value",
    [
        "個人番号 123456789012",  # within the value, beside other text
        "番号:1234-5678-9012です",
        "1234.5678.9012",  # any separator
        "1234/5678/9012",
        "1234\u30005678\u30009012",  # full-width (ideographic) spaces
        "１２３４５６７８９０１２",  # full-width digits
        "１２３４－５６７８－９０１２",
        "1234 - 5678 - 9012",
        "123 456 789 012",
        "No.123456789012",
        "123456789012 2026",  # a bare 12-digit run, whatever follows
        "1234 5678 9018 2026",  # inside a longer chain, with a valid check digit
        "2026 1234 5678 9018",
        123456789012.0,
    ],
)
def test_a_my_number_written_any_way_inside_a_value_is_refused(value):
    data = sample("health_insurance")
    data["symbol"] = value
    reason = _reason(_record(category="health_insurance", data=data))
    assert "12-digit number" in reason
    assert "data.symbol" in reason
    for digits in ("1234", "5678", "9012", "9018", "１２３４"):
        assert digits not in reason


@pytest.mark.parametrize("value", ["2026-06-01", "03-1234-5678", "090-1234-5678", "〒100-0013",
                                   "1234567890123", "12345678901", "1234 5678 9012 2026",
                                   "2026-06-01〜2026-12-31", "1丁目2番3号 101号室"])  # fmt: skip
def test_other_numbers_are_kept(value):
    """A 13-digit run is another identifier (法人番号); a 12-digit window inside a longer chain
    without a valid check digit is not a My Number; dates, phone and postal numbers."""
    assert not holds_my_number(value)


def test_the_check_digit_is_the_my_numbers():
    assert check_digit_valid(MY_NUMBER)
    assert [d for d in "0123456789" if check_digit_valid(MY_NUMBER[:-1] + d)] == ["8"]
    assert check_digit_valid("000000000000")  # remainder 0: check digit 0
    assert not check_digit_valid("12345678901")


def test_a_field_name_holding_a_my_number_is_refused_without_naming_it():
    data = sample("household")
    data["members"][0]["番号1234 5678 9012"] = "x"
    reason = _reason(_record(category="household", data=data))
    assert "field name holds a 12-digit number" in reason
    assert "1234" not in reason
    assert "9012" not in reason


def test_a_full_width_key_named_like_a_my_number_is_refused():
    assert looks_like_my_number_key("ｍｙ＿ｎｕｍｂｅｒ")
    assert looks_like_my_number_key("個人　番号")


def _with_check_digit(first11: str) -> str:
    return next(first11 + d for d in "0123456789" if check_digit_valid(first11 + d))


@given(
    number=st.text("0123456789", min_size=11, max_size=11).map(_with_check_digit),
    cuts=st.lists(st.integers(1, 11), max_size=5, unique=True),
    separators=st.lists(st.sampled_from([" ", ".", "-", "/", "\u3000", "－", "・", " - ", "_"]),
                        min_size=5, max_size=5),
    full_width=st.booleans(),
    before=st.text("ab個人番号: (", max_size=6),
    after=st.text("ab です)", max_size=6) | st.just(" 2026"),
)  # fmt: skip
def test_a_real_my_number_is_refused_however_it_is_written(
    number, cuts, separators, full_width, before, after
):
    """Any valid number, cut into groups with any separators, in any text around it."""
    groups, last = [], 0
    for cut in sorted(cuts):
        groups.append(number[last:cut])
        last = cut
    groups.append(number[last:])
    written = groups[0] + "".join(s + g for s, g in zip(separators, groups[1:], strict=False))
    if full_width:
        written = written.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
    assert holds_my_number(before + written + after)
    assert my_number_reason({"note": before + written + after}) is not None
