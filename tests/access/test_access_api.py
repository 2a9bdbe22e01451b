"""The public surface of casevault.access is pinned: an accidental export or removal shows up here."""

from __future__ import annotations

import casevault.access as access

EXPECTED = {
    "ALLOWED",
    "PLATFORM",
    "ROLE_PERMISSIONS",
    "AccessGrantFacts",
    "Actor",
    "Allowed",
    "AuthMethod",
    "CaseFacts",
    "CustomerRef",
    "Decision",
    "Denied",
    "Evaluation",
    "Permission",
    "PolicyEngine",
    "PolicyError",
    "QueueRef",
    "RequestFacts",
    "Role",
    "StaffFacts",
    "bind_actor",
    "case_decision",
    "load_staff_facts",
    "role_allows",
    "shared_engine",
}


def test_public_api_is_pinned() -> None:
    assert set(access.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(access, name) is not None, name
