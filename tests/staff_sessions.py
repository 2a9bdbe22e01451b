"""A staff member's cookie session made directly in the database, second factor done (optionally stepped up just
now), for tests that exercise the API as a signed-in browser without walking through the sign-in pages."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from casevault.identity.models import Staff
from casevault.identity.sessions import ClientBinding, SessionTimeouts, create_session


def signed_in_secret(session: Session, staff: Staff, *, stepped_up: bool, now: datetime) -> str:
    """Open a session for `staff` as the test client ("testclient", no network prefix); its secret (the cookie)."""
    row, secret = create_session(
        session,
        staff,
        binding=ClientBinding(ip_prefix=None, user_agent="testclient"),
        now=now,
        timeouts=SessionTimeouts(idle=timedelta(minutes=15), absolute=timedelta(hours=8)),
    )
    row.mfa_method, row.mfa_completed_at = "totp", now
    row.stepped_up_at = now if stepped_up else None
    return secret
