"""One import record: its key, category, as_of, data schema, and the My Number refusal.

Reasons name fields and what the schema expects, never the values (they are personal data).
"""

from __future__ import annotations

import pytest

from idp.oidc.claims import SELFINFO_CATEGORIES
from idp.selfinfo.categories import check_schemas, schema
from idp.selfinfo.my_number import looks_like_my_number_key, my_number_reason
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
