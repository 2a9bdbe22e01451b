"""The exported surface of identity and detection, pinned so an accidental export or removal shows up."""

from __future__ import annotations

import casevault.detection as detection
import casevault.identity as identity


def test_identity_exports() -> None:
    assert sorted(identity.__all__) == sorted(
        [
            "TOKEN_PREFIX",
            "ApiToken",
            "Clock",
            "FixedClock",
            "IdentityContext",
            "MfaResetRequest",
            "PasswordPolicy",
            "ProvisionedCredentials",
            "RecoveryCode",
            "Role",
            "SigninThrottle",
            "Staff",
            "StaffSession",
            "StaffStatus",
            "SystemClock",
            "TotpFactor",
            "WebauthnChallenge",
            "WebauthnCredential",
            "authenticate_token",
            "issue_token",
            "provision_credentials",
            "reset_mfa",
            "revoke_all_sessions",
            "revoke_token",
            "set_password",
            "unlock_account",
        ]
    )
    for name in identity.__all__:
        assert getattr(identity, name) is not None


def test_detection_exports() -> None:
    assert sorted(detection.__all__) == ["Alert", "AlertKind", "AlertStatus", "Severity", "raise_alert"]


def test_clock_implementations_share_the_protocol() -> None:
    from datetime import UTC, datetime, timedelta

    fixed = identity.FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    fixed.advance(timedelta(minutes=1))
    clocks: list[identity.Clock] = [identity.SystemClock(), fixed]
    for clock in clocks:
        assert clock.now().tzinfo is not None
    assert fixed.now() == datetime(2026, 1, 1, 0, 1, tzinfo=UTC)


def test_secrets_stay_out_of_reprs() -> None:
    from casevault.identity.schemas import SignInStatus, TotpEnrolmentOut

    enrolment = TotpEnrolmentOut(
        secret="JBSWY3DPEHPK3PXP", otpauth_uri="otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", qr_svg="data:"
    )
    status = SignInStatus(
        mfa_complete=True, enrolment_required=False, methods=[], csrf_token="csrf-value", recovery_codes=["AAAA-BBBB"]
    )
    assert "JBSWY3DPEHPK3PXP" not in repr(enrolment)
    assert "csrf-value" not in repr(status)
    assert "AAAA-BBBB" not in repr(status)
