"""Access control: actors, permission names, decisions as values, Cedar policies and row-level security binding."""

from casevault.access.actor import Actor, AuthMethod
from casevault.access.decisions import ALLOWED, Allowed, Decision, Denied
from casevault.access.permissions import ROLE_PERMISSIONS, Permission, role_allows
from casevault.access.policy import (
    PLATFORM,
    AccessGrantFacts,
    CaseFacts,
    CustomerRef,
    Evaluation,
    PolicyEngine,
    PolicyError,
    QueueRef,
    RequestFacts,
    StaffFacts,
    case_decision,
    load_staff_facts,
    shared_engine,
)
from casevault.access.rls import bind_actor
from casevault.access.roles import Role

__all__ = [
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
]
