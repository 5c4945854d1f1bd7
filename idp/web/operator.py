"""Who runs this IdP, as every citizen page's footer says it (``[operator]`` in the
configuration): the operator's name in the page's language, its privacy policy, its contact,
and the 24-hour number for suspending a lost card, which the on-hold pages send people to.
Outside production any of them may be missing; the footer then leaves that line out.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from flask_babel import get_locale

from ..config import OperatorConfig
from ..services import services


@dataclass(frozen=True)
class Operator:
    """What the footer shows, in this page's language."""

    name: str
    privacy_policy_url: str
    contact_url: str
    loss_report_phone: str

    @property
    def phone_href(self) -> str:
        """``tel:`` with the digits and a leading ``+`` only (RFC 3966)."""
        return "tel:" + "".join(c for c in self.loss_report_phone if c.isdigit() or c == "+")


def init_app(app) -> None:
    app.jinja_env.globals.update(operator=current, home_url=home_url)


def home_url() -> str:
    """The IdP's home page (``/`` under wherever the app is mounted)."""
    return request.script_root + "/"


def current() -> Operator:
    """The operator in the page's language; the other language's name when one is missing."""
    settings: OperatorConfig = services().config.operator
    english = str(get_locale() or "ja") == "en"
    first, second = (
        (settings.name_en, settings.name_ja) if english else (settings.name_ja, settings.name_en)
    )
    return Operator(
        name=(first or second).strip(),
        privacy_policy_url=settings.privacy_policy_url.strip(),
        contact_url=settings.contact_url.strip(),
        loss_report_phone=settings.loss_report_phone.strip(),
    )
