"""The bank's server-side sessions: so the IdP's back-channel logout can end them.

The browser holds only a random session id (in the signed cookie ``bank_session``); what the bank
knows about the applicant lives here, indexed by the IdP's ``sid`` and the applicant's ``sub``,
so a logout token naming either finds every bank session it must end. In memory, for one
process: a real bank keeps this in its own database.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

IDLE_SECONDS = 1800
SEEN_JTI_SECONDS = 600


@dataclass
class BankSession:
    id: str
    created_at: float = field(default_factory=time.time)
    touched_at: float = field(default_factory=time.time)
    data: dict[str, Any] = field(default_factory=dict)


class SessionStore:
    def __init__(self) -> None:
        self._sessions: dict[str, BankSession] = {}
        self._seen_jti: dict[str, float] = {}
        self._lock = threading.Lock()

    def create(self) -> BankSession:
        session = BankSession(secrets.token_urlsafe(32))
        with self._lock:
            self._sessions[session.id] = session
        return session

    def get(self, session_id: object) -> BankSession | None:
        if not isinstance(session_id, str):
            return None
        now = time.time()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or now - session.touched_at > IDLE_SECONDS:
                self._sessions.pop(session_id, None)
                return None
            session.touched_at = now
            return session

    def end(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def end_matching(self, sid: str | None, sub: str | None) -> int:
        """End every session logged in with this IdP session (or, without sid, this subject)."""
        with self._lock:
            doomed = [
                key
                for key, s in self._sessions.items()
                if (sid and s.data.get("idp_sid") == sid)
                or (not sid and sub and s.data.get("sub") == sub)
            ]
            for key in doomed:
                del self._sessions[key]
        return len(doomed)

    def first_use(self, jti: str) -> bool:
        """True the first time a logout token's ``jti`` is seen (replays are refused)."""
        now = time.time()
        with self._lock:
            for old in [k for k, t in self._seen_jti.items() if now - t > SEEN_JTI_SECONDS]:
                del self._seen_jti[old]
            if jti in self._seen_jti:
                return False
            self._seen_jti[jti] = now
            return True
