"""Audit event names: `<object>.<past-tense verb>`; outcomes are values, never free strings."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["AuditAction", "Exposure", "Outcome"]


class AuditAction(StrEnum):
    """Every audited action. Add members here; never write raw strings at call sites."""

    # cases and their content
    CASE_CREATED = "case.created"
    CASE_VIEWED = "case.viewed"
    CASE_LISTED = "case.listed"
    CASE_SEARCHED = "case.searched"
    CASE_ASSIGNED = "case.assigned"
    CASE_STATUS_CHANGED = "case.status_changed"
    CASE_RESOLVED = "case.resolved"
    CASE_UPDATED = "case.updated"
    NOTE_ADDED = "note.added"
    NOTE_VIEWED = "note.viewed"
    PII_REVEALED = "pii.revealed"
    # customers, contacts, organisations
    CUSTOMER_CREATED = "customer.created"
    CUSTOMER_VIEWED = "customer.viewed"
    CUSTOMER_LISTED = "customer.listed"
    CUSTOMER_LOOKED_UP = "customer.looked_up"
    CUSTOMER_SHREDDED = "customer.shredded"
    CONTACT_CREATED = "contact.created"
    CONTACT_VIEWED = "contact.viewed"
    ORGANIZATION_CREATED = "organization.created"
    ORGANIZATION_VIEWED = "organization.viewed"
    ORGANIZATION_LISTED = "organization.listed"
    QUEUE_CREATED = "queue.created"
    QUEUE_MEMBER_ADDED = "queue.member_added"
    # staff and identity
    STAFF_CREATED = "staff.created"
    STAFF_SUSPENDED = "staff.suspended"
    STAFF_REACTIVATED = "staff.reactivated"
    STAFF_UNLOCKED = "staff.unlocked"
    TOKEN_CREATED = "token.created"
    TOKEN_REVOKED = "token.revoked"
    TOKEN_REJECTED = "token.rejected"
    SIGNIN_SUCCEEDED = "signin.succeeded"
    SIGNIN_FAILED = "signin.failed"
    SIGNIN_LOCKED_OUT = "signin.locked_out"
    MFA_ENROLLED = "mfa.enrolled"
    MFA_VERIFIED = "mfa.verified"
    MFA_FAILED = "mfa.failed"
    MFA_RESET_REQUESTED = "mfa.reset_requested"
    MFA_RESET = "mfa.reset"
    RECOVERY_CODE_USED = "mfa.recovery_code_used"
    SESSION_CREATED = "session.created"
    SESSION_REVOKED = "session.revoked"
    SESSION_REJECTED = "session.rejected"
    PASSWORD_CHANGED = "password.changed"
    STEP_UP_SUCCEEDED = "step_up.succeeded"
    STEP_UP_REQUIRED = "step_up.required"
    SESSION_ROTATED = "session.rotated"
    RECOVERY_CODES_ISSUED = "mfa.recovery_codes_issued"
    MFA_RESET_APPROVED = "mfa.reset_approved"
    CSRF_REJECTED = "csrf.rejected"
    # access control
    ACCESS_DENIED = "access.denied"
    GRANT_REQUESTED = "grant.requested"
    GRANT_APPROVED = "grant.approved"
    GRANT_REVOKED = "grant.revoked"
    BREAK_GLASS_STARTED = "break_glass.started"
    BREAK_GLASS_REVIEWED = "break_glass.reviewed"
    BUDGET_EXCEEDED = "budget.exceeded"
    ALERT_RAISED = "alert.raised"
    ALERT_ACKNOWLEDGED = "alert.acknowledged"
    ALERT_CLOSED = "alert.closed"
    # audit, incident, operations
    AUDIT_CHECKPOINTED = "audit.checkpointed"
    AUDIT_QUERIED = "audit.queried"
    AUDIT_VERIFIED = "audit.verified"
    AUDIT_EXPORTED = "audit.exported"
    INCIDENT_RECORDED = "incident.recorded"
    EXPORT_CREATED = "export.created"
    DRILL_RUN = "drill.run"


class Outcome(StrEnum):
    """Whether the action happened."""

    ALLOWED = "allowed"
    DENIED = "denied"
    FAILED = "failed"


class Exposure(StrEnum):
    """How much of a customer's data an event put in front of the actor (blast-radius levels)."""

    LISTED = "listed"  # appeared in a list or search result (masked summary)
    OPENED = "opened"  # a case, customer or contact was opened (masked PII)
    REVEALED = "revealed"  # a PII value was shown in clear
    WRITTEN = "written"  # created or changed
