"""Properties: no byte string crashes the card, and a model of PINs and files predicts every SW."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from sandbox.card.files import JPKI_AID
from sandbox.profiles import CertKind
from tests.sandbox.card.commands import (
    digest_info,
    read_binary,
    select_aid,
    select_ef,
    sign,
    sw,
    verify,
)
from tests.sandbox.card.conftest import memory_card, standalone_contents

KNOWN_INS = [0xA4, 0xB0, 0x20, 0x24, 0x2A]
FIDS = [0x0006, 0x000A, 0x000B, 0x0001, 0x0002, 0x0017, 0x0018, 0x001A, 0x001B, 0x0003, 0x3F00]

apdu_headers = st.tuples(
    st.sampled_from([0x00, 0x80]) | st.integers(0, 255),
    st.sampled_from(KNOWN_INS) | st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
).map(bytes)
shaped_apdus = st.builds(
    lambda header, body, le: header + body + le,
    apdu_headers,
    st.binary(max_size=260).map(lambda d: (bytes((len(d),)) + d) if 0 < len(d) < 256 else b""),
    st.sampled_from([b"", b"\x00", b"\x04"]) | st.binary(max_size=1),
)
well_formed_steps = st.sampled_from(
    [
        select_aid(),
        select_ef(0x000A),
        select_ef(0x0001),
        select_ef(0x0017),
        select_ef(0x0018),
        select_ef(0x001B),
        verify("1234"),
        verify("ABC123"),
        verify(),
        read_binary(0, 4),
    ]
)
anything = st.binary(max_size=300) | shaped_apdus | well_formed_steps


def check_response(response: bytes) -> None:
    assert isinstance(response, bytes)
    assert 2 <= len(response) <= 258
    assert sw(response) != "6F00", "the card hit an internal error"
    if len(response) > 2:
        assert response[-2:] in (b"\x90\x00", b"\x62\x82")  # data only with success/EOF


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=300))
def test_no_byte_string_crashes_the_card(contents, raw):
    check_response(memory_card(contents).transmit(raw))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(anything, max_size=25))
def test_no_sequence_crashes_the_card(contents, steps):
    card = memory_card(contents)
    for step in steps:
        check_response(card.transmit(step))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    aid=st.binary(min_size=1, max_size=255).filter(lambda a: a != JPKI_AID),
    p2=st.sampled_from([0x00, 0x0C]),
    le=st.sampled_from([b"", b"\x00"]),
)
def test_no_other_aid_ever_selects(contents, aid, p2, le):
    assert sw(memory_card(contents).transmit(select_aid(aid, p2) + le)) == "6A82"


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cla=st.integers(0, 255).filter(lambda c: c not in (0x00, 0x80)), rest=st.binary(min_size=3))
def test_every_other_class_gets_6e00(contents, cla, rest):
    assert sw(memory_card(contents).transmit(bytes((cla,)) + rest)) == "6E00"


PIN_EF = {0x0018: CertKind.AUTH, 0x001B: CertKind.SIGN}
KEY_EF = {0x0017: CertKind.AUTH, 0x001A: CertKind.SIGN}
RIGHT = {CertKind.AUTH: "1234", CertKind.SIGN: "ABC123"}
WRONG = {CertKind.AUTH: "0000", CertKind.SIGN: "WRONG1"}
MAX_TRIES = {CertKind.AUTH: 3, CertKind.SIGN: 5}


class CardModel(RuleBasedStateMachine):
    """A few lines of docs/jpki.md §1 and §6 as a model; the card must agree with it on every status
    word."""

    @initialize()
    def insert(self):
        self.card = memory_card(standalone_contents())
        self.in_ap = False
        self.current: int | None = None
        self.verified: set[CertKind] = set()
        self.tries = dict(MAX_TRIES)

    @rule()
    def select_ap(self):
        assert sw(self.card.transmit(select_aid())) == "9000"
        self.in_ap, self.current = True, None

    @rule(fid=st.sampled_from(FIDS))
    def select_file(self, fid):
        found = self.in_ap and fid not in (0x0003, 0x3F00)
        assert sw(self.card.transmit(select_ef(fid))) == ("9000" if found else "6A82")
        if found:
            self.current = fid

    @rule(right=st.booleans())
    def verify_pin(self, right):
        answer = sw(self.card.transmit(verify(None)))
        kind = PIN_EF.get(self.current)
        if kind is None:
            assert answer == "6986"
            return
        assert answer == f"63C{self.tries[kind]}"
        answer = sw(self.card.transmit(verify((RIGHT if right else WRONG)[kind])))
        if self.tries[kind] == 0:
            assert answer == "6983"
        elif right:
            assert answer == "9000"
            self.tries[kind] = MAX_TRIES[kind]
            self.verified.add(kind)
        else:
            self.tries[kind] -= 1
            self.verified.discard(kind)
            assert answer == f"63C{self.tries[kind]}"

    @rule()
    def read_head(self):
        answer = sw(self.card.transmit(read_binary(0, 4)))
        if self.current is None:
            assert answer == "6986"
        elif self.current in PIN_EF or self.current in KEY_EF:
            assert answer == "6981"
        elif self.current == 0x0001 and CertKind.SIGN not in self.verified:
            assert answer == "6982"
        else:
            assert answer == "9000"

    @rule()
    def compute_signature(self):
        answer = sw(self.card.transmit(sign(digest_info())))
        if self.current not in KEY_EF:
            assert answer == "6986"
        else:
            assert answer == ("9000" if KEY_EF[self.current] in self.verified else "6982")

    @rule(kind=st.sampled_from(list(CertKind)), right=st.booleans())
    def client_verifies(self, kind, right):
        """What a client does: AP, PIN EF, VERIFY (makes the interesting orders likely)."""
        self.select_ap()
        self.select_file({CertKind.AUTH: 0x0018, CertKind.SIGN: 0x001B}[kind])
        self.verify_pin(right)

    @rule(kind=st.sampled_from(list(CertKind)))
    def client_signs(self, kind):
        self.select_ap()
        self.select_file({CertKind.AUTH: 0x0017, CertKind.SIGN: 0x001A}[kind])
        self.compute_signature()

    @rule()
    def reset(self):
        self.card.reset()
        self.in_ap, self.current, self.verified = False, None, set()

    @invariant()
    def tries_never_negative(self):
        if hasattr(self, "card"):
            pins = self.card.applet.pins
            assert all(0 <= pins.tries_left(kind) <= MAX_TRIES[kind] for kind in CertKind)


TestCardModel = CardModel.TestCase
TestCardModel.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)
