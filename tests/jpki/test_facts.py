"""The basic four facts: parsed strictly from the signing certificate."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509

from idp.jpki.errors import Malformed
from idp.jpki.facts import Gender, parse_birthdate, read_basic_four_facts
from sandbox import citizens, pki, profiles
from sandbox.citizens import SAMPLE_CITIZENS

NOW = dt.datetime.now(dt.UTC)


def _sign(sign_ca, card_key, **options):
    return pki.make_sign_certificate(sign_ca, card_key.public_key(), now=NOW, **options)


def _san(**overrides: str) -> x509.SubjectAlternativeName:
    """The sample citizen's six otherNames with some values replaced (or dropped with "")."""
    values = {
        profiles.OID_NAME: "山田\u3000花子", profiles.OID_BIRTHDATE: "319850412",
        profiles.OID_GENDER: "2", profiles.OID_ADDRESS: "東京都清瀬市中里五丁目八四二番地",
        profiles.OID_NAME_FLAGS: "00000", profiles.OID_ADDRESS_FLAGS: "0" * 16,
    }  # fmt: skip
    names = {"name": profiles.OID_NAME, "birth": profiles.OID_BIRTHDATE,
             "gender": profiles.OID_GENDER, "address": profiles.OID_ADDRESS,
             "name_flags": profiles.OID_NAME_FLAGS,
             "address_flags": profiles.OID_ADDRESS_FLAGS}  # fmt: skip
    for field, value in overrides.items():
        values[names[field]] = value
    return x509.SubjectAlternativeName(
        [citizens.other_name(oid, values[oid]) for oid in profiles.SAN_ORDER if values[oid] != ""]
    )


@pytest.mark.parametrize("citizen", SAMPLE_CITIZENS, ids=lambda c: c.gender.value)
def test_sample_citizens_facts_are_read_back(sign_ca, card_key, citizen):
    facts = read_basic_four_facts(_sign(sign_ca, card_key, citizen=citizen))
    expected_name, expected_flags = citizens.substitute(citizen.name)
    assert facts.name == expected_name
    assert facts.name_substituted == tuple(flag == "1" for flag in expected_flags)
    assert facts.address == citizens.substitute(citizen.address)[0]
    assert facts.birthdate == citizen.birthdate
    assert facts.gender == Gender(citizen.gender.value)


def test_substituted_character_is_flagged(sign_ca, card_key):
    facts = read_basic_four_facts(_sign(sign_ca, card_key, citizen=SAMPLE_CITIZENS[1]))
    assert facts.name.startswith("高")
    assert facts.name_substituted[0] is True


@pytest.mark.parametrize(
    "overrides",
    [
        {"birth": "000000000"}, {"birth": "319851332"}, {"birth": "61985041"},
        {"birth": "9198504１2"}, {"gender": "9"}, {"gender": ""}, {"name": ""},
        {"name": "山田花子"}, {"name_flags": "0001"}, {"address_flags": "2" * 16},
        {"address": "東" * 201},
    ],
    ids=str,
)  # fmt: skip
def test_bad_or_missing_field_is_malformed(sign_ca, card_key, overrides):
    certificate = _sign(sign_ca, card_key, san=_san(**overrides))
    with pytest.raises(Malformed):
        read_basic_four_facts(certificate)


def test_repeated_field_is_malformed(sign_ca, card_key):
    san = _san()
    doubled = x509.SubjectAlternativeName([*san, citizens.other_name(profiles.OID_GENDER, "1")])
    with pytest.raises(Malformed, match="repeated"):
        read_basic_four_facts(_sign(sign_ca, card_key, san=doubled))


def test_field_not_utf8string_is_malformed(sign_ca, card_key):
    bad = [x509.OtherName(profiles.OID_GENDER, b"\x13\x012") if o.type_id == profiles.OID_GENDER
           else o for o in _san()]  # fmt: skip
    with pytest.raises(Malformed):
        read_basic_four_facts(_sign(sign_ca, card_key, san=x509.SubjectAlternativeName(bad)))


def test_signing_certificate_without_san_is_malformed(sign_ca, card_key):
    with pytest.raises(Malformed):
        read_basic_four_facts(_sign(sign_ca, card_key, omit=[x509.SubjectAlternativeName]))


def test_unknown_era_digit_zero_is_accepted_but_zero_date_is_not():
    assert parse_birthdate("019850412") == dt.date(1985, 4, 12)
    with pytest.raises(Malformed):
        parse_birthdate("019850000")
