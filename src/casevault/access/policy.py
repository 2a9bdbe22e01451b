"""Cedar policy evaluation: policies and schema are parsed and validated once, then every decision is a value.

The policies live as data in `casevault/access/policies/` (`*.cedar` plus `casevault.cedarschema`). A
`PolicyEngine` reads them once, refuses to start if they do not parse, lack a unique `@id` or fail schema
validation, and then answers `authorize(principal, action, resource, context)` with `Allowed(via=...)` or
`Denied(reason=...)`, where the via/reason names the policy ids that determined the outcome (for the audit log).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Final, Protocol

import cedarpy
import sqlalchemy as sa
from cedarpy import _internal as cedar_native
from sqlalchemy.orm import Session

from casevault.access.actor import Actor
from casevault.access.decisions import Allowed, Decision, Denied
from casevault.access.permissions import Permission
from casevault.access.roles import Role
from casevault.db.statements import FixedStatement

__all__ = [
    "PLATFORM",
    "POLICY_DIR",
    "AccessGrantFacts",
    "CaseFacts",
    "CaseLike",
    "CustomerRef",
    "Evaluation",
    "PlatformRef",
    "PolicyEngine",
    "PolicyError",
    "QueueRef",
    "RequestFacts",
    "Resource",
    "StaffFacts",
    "case_decision",
    "load_staff_facts",
    "shared_engine",
]

POLICY_DIR: Final = Path(__file__).parent / "policies"
SCHEMA_FILE: Final = "casevault.cedarschema"


class PolicyError(RuntimeError):
    """The policy set cannot be used: a file does not parse, an `@id` is missing or repeated, or validation fails."""


# --- facts: what the access functions know about the principal, the resource and the request ----------------


@dataclass(frozen=True, slots=True)
class StaffFacts:
    """The principal: role, every queue it belongs to, and the queues it supervises."""

    staff_id: uuid.UUID
    role: Role
    queues: frozenset[uuid.UUID] = frozenset()
    supervises: frozenset[uuid.UUID] = frozenset()
    suspended: bool = False


class CaseLike(Protocol):
    """Anything with a case's identifying columns (the `cases.models.Case` row satisfies it)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def queue_id(self) -> uuid.UUID: ...
    @property
    def customer_id(self) -> uuid.UUID: ...
    @property
    def assignee_id(self) -> uuid.UUID | None: ...


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """A case as the policies see it; `assignee_id=None` means unassigned (in triage)."""

    case_id: uuid.UUID
    queue_id: uuid.UUID
    customer_id: uuid.UUID
    assignee_id: uuid.UUID | None = None

    @classmethod
    def of(cls, case: CaseLike) -> CaseFacts:
        """The facts of a loaded case row."""
        return cls(case_id=case.id, queue_id=case.queue_id, customer_id=case.customer_id, assignee_id=case.assignee_id)


@dataclass(frozen=True, slots=True)
class CustomerRef:
    """A customer reached directly (not through a case): only a grant or break-glass permits that."""

    customer_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class QueueRef:
    """A queue, the resource of `case:create` and `case:export`."""

    queue_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class AccessGrantFacts:
    """A just-in-time access request being approved; `queue_id` is set when it is for a case."""

    grant_id: uuid.UUID
    requester_id: uuid.UUID
    queue_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class PlatformRef:
    """The platform itself, the resource of actions about no single object (audit, staff, queues)."""


PLATFORM: Final = PlatformRef()

Resource = CaseFacts | CustomerRef | QueueRef | AccessGrantFacts | PlatformRef


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """The request context the policies read; the access functions establish each flag before asking."""

    step_up: bool = False  # MFA re-verified within the step-up window
    reason: bool = False  # a reason of acceptable length was given
    grant: bool = False  # a live, approved JIT grant covers the resource
    break_glass: bool = False  # a live break-glass session covers the resource

    def as_json(self) -> str:
        """The Cedar context record (there are only 16 distinct values, so they are cached)."""
        return _context_json(self)


_NO_CONTEXT: Final = RequestFacts()


@lru_cache(maxsize=16)
def _context_json(context: RequestFacts) -> str:
    return json.dumps(
        {
            "step_up": context.step_up,
            "reason": context.reason,
            "grant": context.grant,
            "break_glass": context.break_glass,
        }
    )


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The full answer: the decision, the policy ids that determined it, and evaluation errors (audit only)."""

    decision: Decision
    determining: tuple[str, ...] = ()
    errors: tuple[str, ...] = field(default=(), repr=False)


# --- the engine ---------------------------------------------------------------------------------------------


def _ref(entity_type: str, entity_id: uuid.UUID | str) -> dict[str, dict[str, str]]:
    return {"__entity": {"type": entity_type, "id": str(entity_id)}}


def _uid(entity_type: str, entity_id: uuid.UUID | str) -> dict[str, str]:
    return {"type": entity_type, "id": str(entity_id)}


def _uuid(value: uuid.UUID) -> str:
    if not isinstance(value, uuid.UUID):
        raise TypeError("entity ids are UUIDs")
    return str(value)


_PLATFORM_UID: Final = {"type": "Platform", "id": "casevault"}


def _resource(resource: Resource) -> tuple[dict[str, str], str | None]:
    """The Cedar resource uid (structured: Cedar skips parsing surface syntax) and, for resources with
    attributes, its entity as JSON."""
    if isinstance(resource, CaseFacts):
        # The hot path (every case decision): the entity is written out directly, a quarter of json.dumps' cost.
        # Only UUIDs are interpolated, and _uuid refuses anything else, so nothing can break out of the quotes.
        case_id = _uuid(resource.case_id)
        assignee = (
            f',"assignee":{{"__entity":{{"type":"Staff","id":"{_uuid(resource.assignee_id)}"}}}}'
            if resource.assignee_id is not None
            else ""
        )
        case_entity = (
            f'{{"uid":{{"type":"Case","id":"{case_id}"}},"attrs":{{'
            f'"queue":{{"__entity":{{"type":"Queue","id":"{_uuid(resource.queue_id)}"}}}},'
            f'"customer":{{"__entity":{{"type":"Customer","id":"{_uuid(resource.customer_id)}"}}}}{assignee}}},'
            '"parents":[]}'
        )
        return {"type": "Case", "id": case_id}, case_entity
    if isinstance(resource, AccessGrantFacts):
        attrs: dict[str, Any] = {"requester": _ref("Staff", resource.requester_id)}
        if resource.queue_id is not None:
            attrs["queue"] = _ref("Queue", resource.queue_id)
        uid = _uid("AccessGrant", resource.grant_id)
        return uid, json.dumps({"uid": uid, "attrs": attrs, "parents": []})
    if isinstance(resource, CustomerRef):
        return _uid("Customer", resource.customer_id), None
    if isinstance(resource, QueueRef):
        return _uid("Queue", resource.queue_id), None
    return _PLATFORM_UID, None


def _principal_json(staff: StaffFacts) -> str:
    return json.dumps(
        {
            "uid": _uid("Staff", staff.staff_id),
            "attrs": {
                "role": str(staff.role),
                "suspended": staff.suspended,
                "queues": [_ref("Queue", queue) for queue in sorted(staff.queues)],
                "supervises": [_ref("Queue", queue) for queue in sorted(staff.supervises)],
            },
            "parents": [],
        }
    )


_ACTION_UIDS: Final = {permission: {"type": "Action", "id": permission.value} for permission in Permission}


def _request(
    principal: StaffFacts, action: Permission, resource_uid: dict[str, str], context: RequestFacts
) -> dict[str, Any]:
    # Structured uids, not `Staff::"…"` strings: Cedar then builds the request without its surface-syntax
    # parser, a third of a decision's cost (ADR 0551).
    return {
        "principal": {"type": "Staff", "id": str(principal.staff_id)},
        "action": _ACTION_UIDS[action],
        "resource": resource_uid,
        "context": context.as_json(),
    }


def _may_apply(scope: Mapping[str, Any], action: str) -> bool:
    """Whether a policy's action scope (Cedar's JSON form) can match `action`; unknown forms count as yes."""
    op = scope.get("op")
    if op == "==":
        return bool(scope["entity"]["id"] == action)
    if op == "in" and "entities" in scope:
        return action in {entity["id"] for entity in scope["entities"]}
    return True  # "All", or `in` an action group: keep it


class PolicyEngine:
    """Parsed, validated Cedar policies kept in memory; build one per process and share it (it is immutable)."""

    def __init__(self, policies: Mapping[str, str], schema: str) -> None:
        """Parse and validate `policies` (file name → Cedar text) against `schema`; raise PolicyError if unusable."""
        if not policies:
            raise PolicyError("no policy files: deny-all by accident is still a misconfiguration")
        for name, text in sorted(policies.items()):
            try:
                cedarpy.PolicySet.from_str(text)
            except ValueError as error:
                raise PolicyError(f"{name}: does not parse: {error}") from error
        text = "\n".join(policies[name] for name in sorted(policies))
        try:
            self._schema = cedarpy.Schema.from_str(schema)
        except ValueError as error:
            raise PolicyError(f"schema does not parse: {error}") from error
        validation = cedarpy.validate_policies(text, self._schema)
        if not validation.validation_passed:
            ids = validation.id_annotations_by_policy_id
            problems = "; ".join(f"[{ids.get(e.policy_id, e.policy_id)}] {e.error}" for e in validation.errors)
            raise PolicyError(f"policies do not validate against the schema: {problems}")
        self._policies = cedarpy.PolicySet.from_str(text)
        self._ids, self._effects = self._annotations(text)
        # Per action, only the policies whose action scope can match it: Cedar evaluates every policy it is given,
        # and a policy scoped to other actions can never apply, so leaving it out changes no decision (a test
        # compares every action's decisions with the whole set's). Anything not provably out stays in.
        self._by_action = self._slice_by_action(text)
        # One request asks many questions about the same principal: parse and validate its entity once.
        self._principal_entities = lru_cache(maxsize=1024)(self._parse_principal)
        self._check_resource_shapes()

    def _parse_principal(self, staff: StaffFacts) -> cedar_native.Entities:
        return cedar_native.Entities.from_json_str(f"[{_principal_json(staff)}]", self._schema)

    def _check_resource_shapes(self) -> None:
        """Resource entities come from fixed templates in `_resource` (only the ids vary): check every shape
        against the schema once, here, so a schema and code that disagree stop start-up, and each decision can
        add its resource without re-validating it (a quarter of a decision's cost; docs/adr/0551-…)."""
        one, two, three = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)
        principal = self._parse_principal(StaffFacts(one, Role.SUPERVISOR, frozenset({two}), frozenset({two})))
        shapes: list[Resource] = [
            CaseFacts(three, two, three),
            CaseFacts(three, two, three, one),
            AccessGrantFacts(three, one),
            AccessGrantFacts(three, one, two),
        ]
        for shape in shapes:
            _resource_uid, entity = _resource(shape)
            try:
                principal.with_added_json_str(f"[{entity}]", self._schema)
            except ValueError as error:
                raise PolicyError(f"{type(shape).__name__} entities do not fit the schema: {error}") from error

    def _slice_by_action(self, text: str) -> dict[str, tuple[cedarpy.PolicySet, dict[str, str]]]:
        static = json.loads(cedarpy.policies_to_json_str(text))["staticPolicies"]
        sliced: dict[str, tuple[cedarpy.PolicySet, dict[str, str]]] = {}
        for permission in Permission:
            subset = {key: policy for key, policy in static.items() if _may_apply(policy["action"], str(permission))}
            if not subset:
                continue  # no policy at all: the whole set decides (a deny with no permit, as it would anyway)
            subset_text = cedarpy.policies_from_json_str(
                json.dumps({"staticPolicies": subset, "templates": {}, "templateLinks": []})
            )
            sliced[str(permission)] = (cedarpy.PolicySet.from_str(subset_text), self._annotations(subset_text)[0])
        return sliced

    def _for_action(self, action: Permission) -> tuple[cedarpy.PolicySet, dict[str, str]]:
        return self._by_action.get(str(action), (self._policies, self._ids))

    @staticmethod
    def _annotations(text: str) -> tuple[dict[str, str], dict[str, str]]:
        """Map parser ids (policy0…) to each policy's `@id` and effect; every policy must carry a unique `@id`."""
        parsed = json.loads(cedarpy.policies_to_json_str(text))
        ids: dict[str, str] = {}
        effects: dict[str, str] = {}
        if parsed.get("templates"):
            raise PolicyError("policy templates are not supported; write static policies")
        for parser_id, policy in parsed["staticPolicies"].items():
            policy_id = policy.get("annotations", {}).get("id")
            if not policy_id:
                raise PolicyError(f"a {policy['effect']} policy has no @id annotation; every policy needs one")
            if policy_id in effects:
                raise PolicyError(f"duplicate policy @id {policy_id!r}")
            ids[parser_id] = policy_id
            effects[policy_id] = policy["effect"]
        return ids, effects

    @classmethod
    def from_directory(cls, directory: Path = POLICY_DIR) -> PolicyEngine:
        """Load every `*.cedar` file and `casevault.cedarschema` from `directory`."""
        schema_path = directory / SCHEMA_FILE
        if not schema_path.is_file():
            raise PolicyError(f"missing {SCHEMA_FILE} in the policy directory")
        policies = {path.name: path.read_text(encoding="utf-8") for path in sorted(directory.glob("*.cedar"))}
        return cls(policies, schema_path.read_text(encoding="utf-8"))

    @property
    def policy_ids(self) -> frozenset[str]:
        """The `@id` of every policy in the set."""
        return frozenset(self._effects)

    def effect_of(self, policy_id: str) -> str:
        """'permit' or 'forbid'."""
        return self._effects[policy_id]

    def evaluate(
        self,
        principal: StaffFacts,
        action: Permission,
        resource: Resource,
        context: RequestFacts = _NO_CONTEXT,
    ) -> Evaluation:
        """Decide, keeping the determining policy ids and any evaluation errors."""
        resource_uid, resource_entity = _resource(resource)
        try:
            entities = self._principal_entities(principal)
            if resource_entity is not None:
                entities = entities.with_added_json_str(f"[{resource_entity}]", None)  # shape checked at start-up
        except ValueError as error:  # the facts do not fit the schema: fail closed, keep the cause for the log
            return Evaluation(Denied(reason="policy:invalid-request"), (), (str(error),))
        policies, ids = self._for_action(action)
        # cedarpy's native call answers JSON; its public wrapper only re-wraps that in objects, a quarter of a
        # decision's cost, so the engine reads the JSON itself (ADR 0551; the version is pinned in the lock).
        result = cedar_native.is_authorized(
            _request(principal, action, resource_uid, context), policies, entities, self._schema, False
        )
        return self._conclude(json.loads(result), ids)

    def evaluate_each(
        self,
        principal: StaffFacts,
        action: Permission,
        resources: Sequence[Resource],
        context: RequestFacts = _NO_CONTEXT,
    ) -> list[Evaluation]:
        """`evaluate` for many resources in one call (a list view), in order; cheaper per item than one by one."""
        if not resources:
            return []
        uids: list[dict[str, str]] = []
        entity_json: dict[tuple[str, str], str] = {}
        for resource in resources:
            resource_uid, resource_entity = _resource(resource)
            uids.append(resource_uid)
            if resource_entity is not None:
                entity_json[resource_uid["type"], resource_uid["id"]] = resource_entity
        try:
            entities = self._principal_entities(principal)
            if entity_json:
                entities = entities.with_added_json_str(f"[{','.join(entity_json.values())}]", None)
        except ValueError as error:
            return [Evaluation(Denied(reason="policy:invalid-request"), (), (str(error),)) for _ in resources]
        requests = [_request(principal, action, uid, context) for uid in uids]
        policies, ids = self._for_action(action)
        results = cedar_native.is_authorized_batch(requests, policies, entities, self._schema, False)
        return [self._conclude(json.loads(result), ids) for result in results]

    def _conclude(self, result: Mapping[str, Any], ids: Mapping[str, str]) -> Evaluation:
        """Cedar's answer (`{"decision": "Allow"|"Deny"|…, "diagnostics": {"reason": [...], "errors": [...]}}`)."""
        diagnostics = result.get("diagnostics", {})
        determining = tuple(sorted(ids.get(parser_id, parser_id) for parser_id in diagnostics.get("reason", ())))
        errors = tuple(str(error) for error in diagnostics.get("errors", ()))
        decision = result.get("decision")
        if decision == "Allow":
            return Evaluation(Allowed(via=",".join(determining)), determining, errors)
        if decision != "Deny":
            # The request itself was malformed (wrong resource type for the action, bad context): fail closed.
            return Evaluation(Denied(reason="policy:invalid-request"), (), errors)
        if determining:
            return Evaluation(Denied(reason="forbid:" + ",".join(determining)), determining, errors)
        reason = "policy:no-permit" if not errors else f"policy:no-permit ({len(errors)} policy errors)"
        return Evaluation(Denied(reason=reason), (), errors)

    def authorize(
        self,
        principal: StaffFacts,
        action: Permission,
        resource: Resource,
        context: RequestFacts = _NO_CONTEXT,
    ) -> Decision:
        """`Allowed(via=policy ids)` or `Denied(reason)`; the reason is for the audit log, never the client."""
        return self.evaluate(principal, action, resource, context).decision

    def __repr__(self) -> str:
        return f"PolicyEngine(policies={len(self._effects)})"


@cache
def shared_engine() -> PolicyEngine:
    """The packaged policies, parsed once per process (the engine is immutable, so sharing it is safe)."""
    return PolicyEngine.from_directory(POLICY_DIR)


# --- helpers for the access functions ------------------------------------------------------------------------

_staff = sa.table("staff", sa.column("id", sa.Uuid()), sa.column("role", sa.String()), sa.column("status", sa.String()))
_memberships = sa.table(
    "queue_memberships",
    sa.column("queue_id", sa.Uuid()),
    sa.column("staff_id", sa.Uuid()),
    sa.column("role", sa.String()),
)


_FACTS_CACHE: Final = "casevault.access.staff_facts"


def load_staff_facts(session: Session, actor: Actor) -> StaffFacts | None:
    """The actor's role, status and queues; None for actors that are not staff (system, CLI) or unknown ids.

    Loaded once per session (one request or CLI unit of work) and kept in `session.info`, so an access function
    called for every row of a list costs no extra queries.
    """
    if actor.staff_id is None:
        return None
    cache: dict[uuid.UUID, StaffFacts | None] = session.info.setdefault(_FACTS_CACHE, {})
    if actor.staff_id not in cache:
        cache[actor.staff_id] = _query_staff_facts(session, actor.staff_id)
    return cache[actor.staff_id]


# One round trip: the staff row with one row per membership (a single row with NULLs when there is none).
_STAFF_FACTS = FixedStatement(
    sa.select(_staff.c.role, _staff.c.status, _memberships.c.queue_id, _memberships.c.role.label("queue_role"))
    .select_from(_staff.outerjoin(_memberships, _memberships.c.staff_id == _staff.c.id))
    .where(_staff.c.id == sa.bindparam("staff_id"))
)


def _query_staff_facts(session: Session, staff_id: uuid.UUID) -> StaffFacts | None:
    # On the connection, as before: a Core read, no autoflush (a membership the request just added is flushed by
    # the service that added it).
    rows = _STAFF_FACTS.rows(session.connection(), {"staff_id": staff_id})
    if not rows:
        return None
    try:
        role = Role(rows[0][0])
    except ValueError:
        return None
    memberships = [(queue_id, queue_role) for _, _, queue_id, queue_role in rows if queue_id is not None]
    return StaffFacts(
        staff_id=staff_id,
        role=role,
        queues=frozenset(queue_id for queue_id, _ in memberships),
        supervises=frozenset(queue_id for queue_id, queue_role in memberships if queue_role == "supervisor"),
        suspended=rows[0][1] != "active",
    )


def case_decision(
    engine: PolicyEngine,
    actor_facts: StaffFacts | None,
    case_facts: CaseFacts | CaseLike,
    action: Permission = Permission.CASE_READ,
    context: RequestFacts = _NO_CONTEXT,
) -> Decision:
    """May this staff member do `action` (default `case:read`) on this case? Non-staff actors are denied."""
    if actor_facts is None:
        return Denied(reason="policy:not-staff")
    facts = case_facts if isinstance(case_facts, CaseFacts) else CaseFacts.of(case_facts)
    return engine.authorize(actor_facts, action, facts, context)
