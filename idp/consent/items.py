"""Plain words for each consent item: what the citizen reads on the consent screen
and, later, in the access history of the account pages.

Item ids are those of ``idp.consent.decisions``: ``openid``, ``claim:<name>``,
``selfinfo:<category>`` and ``verified:<claim>``. Labels are gettext messages of this package's
catalogue (``idp/consent/translations``); ``describe`` translates them in the current request's
language. An id this module does not know still gets a readable label that names it, so a new
scope never shows up as a blank line.
"""

from __future__ import annotations

from flask_babel import gettext

from .decisions import (
    CLAIM_PREFIX,
    DOCUMENT_PREFIX,
    OPENID,
    SELFINFO_PREFIX,
    VERIFIED_PREFIX,
)


def N_(text: str) -> str:
    """Marks a text for the catalogue; ``describe`` translates it when a page is rendered."""
    return text


LABELS: dict[str, str] = {
    OPENID: N_("An identifier for you at this service (not your My Number)"),
    "claim:name": N_("Your full name"),
    "claim:family_name": N_("Your family name"),
    "claim:given_name": N_("Your given name"),
    "claim:birthdate": N_("Your date of birth"),
    "claim:gender": N_("Your gender"),
    "claim:address": N_("Your address"),
    "selfinfo:income": N_("Your resident-tax income and assessment (taxable income, tax amounts)"),
    "selfinfo:household": N_("Your household (who is registered in it)"),
    "selfinfo:health_insurance": N_("Your health-insurance eligibility"),
    "selfinfo:pension": N_("Your pension records"),
    "selfinfo:child_benefit": N_("Your child-benefit records"),
    "verified:name": N_("Your full name, verified from your signing certificate"),
    "verified:address": N_("Your address, verified from your signing certificate"),
    "verified:birthdate": N_("Your date of birth, verified from your signing certificate"),
    "verified:gender": N_("Your gender, verified from your signing certificate"),
}


AGE_PREFIX = VERIFIED_PREFIX + "age_over_"
"""``verified:age_over_NN``: a yes/no from the verified birth date, never the date itself."""


def describe(item_id: str) -> str:
    """The item in plain words, in the current language (needs a request or app context)."""
    label = LABELS.get(item_id)
    if label is not None:
        return gettext(label)
    if item_id.startswith(SELFINFO_PREFIX):
        return gettext(
            "Your self-information: %(category)s", category=item_id[len(SELFINFO_PREFIX) :]
        )
    if item_id.startswith(AGE_PREFIX) and item_id[len(AGE_PREFIX) :].isdigit():
        return gettext(
            "That you are %(age)s or over (your date of birth is not given)",
            age=item_id[len(AGE_PREFIX) :],
        )
    if item_id.startswith(VERIFIED_PREFIX):
        return gettext(
            "Verified from your signing certificate: %(claim)s",
            claim=item_id[len(VERIFIED_PREFIX) :],
        )
    if item_id.startswith(CLAIM_PREFIX):
        return gettext("Information about you: %(claim)s", claim=item_id[len(CLAIM_PREFIX) :])
    if item_id.startswith(DOCUMENT_PREFIX):
        return gettext(
            "The document you signed, %(title)s, with your signing certificate, which shows your "
            "name, date of birth, sex and address",
            title=item_id[len(DOCUMENT_PREFIX) :],
        )
    return gettext("Other information: %(item)s", item=item_id)


FACTS: dict[str, str] = {
    "verified:name": N_("full name"),
    "verified:address": N_("address"),
    "verified:birthdate": N_("date of birth"),
    "verified:gender": N_("gender"),
}
"""The certificate's facts in a sentence, for the consent screen's verification notice."""


def verified_facts(item_ids: list[str]) -> str:
    """The verified facts among ``item_ids``, in plain words joined as a list ("" if none)."""
    facts = [FACTS[i] for i in item_ids if i in FACTS]
    if any(i.startswith(AGE_PREFIX) for i in item_ids) and FACTS["verified:birthdate"] not in facts:
        facts.append(FACTS["verified:birthdate"])  # read to answer, not sent
    return gettext(", ").join(gettext(f) for f in facts)


def kind(item_id: str) -> str:
    """The group an item is listed in: identifier, claim, selfinfo, verified or other."""
    if item_id == OPENID:
        return "identifier"
    for prefix, name in (
        (CLAIM_PREFIX, "claim"),
        (SELFINFO_PREFIX, "selfinfo"),
        (VERIFIED_PREFIX, "verified"),
    ):
        if item_id.startswith(prefix):
            return name
    return "other"
