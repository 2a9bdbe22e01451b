"""The Cedar policy engine: scope rules, guards that no permit can override, grants, start-up validation."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

import pytest

from casevault.access import ROLE_PERMISSIONS, Allowed, Denied, Permission, Role, role_allows
from casevault.access.policy import (
    PLATFORM,
    POLICY_DIR,
    AccessGrantFacts,
    CaseFacts,
    CustomerRef,
    PolicyEngine,
    PolicyError,
    QueueRef,
    RequestFacts,
    StaffFacts,
    case_decision,
    shared_engine,
)

BILLING, TECH = uuid.uuid4(), uuid.uuid4()
ALICE = StaffFacts(uuid.uuid4(), Role.AGENT, queues=frozenset({BILLING}))
BOB = StaffFacts(uuid.uuid4(), Role.AGENT, queues=frozenset({TECH}))
SUE = StaffFacts(uuid.uuid4(), Role.SUPERVISOR, queues=frozenset({BILLING}), supervises=frozenset({BILLING}))
TOM = StaffFacts(uuid.uuid4(), Role.SUPERVISOR, queues=frozenset({TECH}), supervises=frozenset({TECH}))
OLGA = StaffFacts(uuid.uuid4(), Role.SECURITY_OFFICER, queues=frozenset({BILLING}))
ADAM = StaffFacts(uuid.uuid4(), Role.ADMIN)


def case(queue: uuid.UUID, assignee: StaffFacts | None = None) -> CaseFacts:
    return CaseFacts(uuid.uuid4(), queue, uuid.uuid4(), assignee.staff_id if assignee else None)


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine.from_directory()


def copy_policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, target)
    return target


def test_every_permission_is_an_action_of_the_schema(engine: PolicyEngine) -> None:
    resources = [case(BILLING), CustomerRef(uuid.uuid4()), QueueRef(BILLING), PLATFORM]
    resources.append(AccessGrantFacts(uuid.uuid4(), ALICE.staff_id))
    for permission in Permission:
        reasons = {engine.authorize(SUE, permission, resource) for resource in resources}
        assert reasons != {Denied("policy:invalid-request")}, f"{permission} is not declared in the schema"


@pytest.mark.parametrize(
    ("staff", "resource", "expected"),
    [
        (ALICE, case(BILLING, ALICE), Allowed(via="scope.assigned")),
        (ALICE, case(TECH, ALICE), Allowed(via="scope.assigned")),  # assigned outside my queues still counts
        (ALICE, case(BILLING), Allowed(via="scope.triage")),
        (ALICE, case(TECH), Denied("policy:no-permit")),
        (ALICE, case(BILLING, BOB), Denied("policy:no-permit")),  # a colleague's case in my own queue
        (SUE, case(BILLING, BOB), Allowed(via="scope.supervised-queue")),
        (SUE, case(BILLING), Allowed(via="scope.supervised-queue,scope.triage")),
        (SUE, case(TECH, BOB), Denied("policy:no-permit")),
        (OLGA, case(BILLING, OLGA), Denied("forbid:guard.security-officer-no-content")),
        (ADAM, case(BILLING), Denied("policy:no-permit")),
    ],
)
def test_case_read_scope(engine: PolicyEngine, staff: StaffFacts, resource: CaseFacts, expected: object) -> None:
    assert engine.authorize(staff, Permission.CASE_READ, resource) == expected
    # Customer data follows the case exactly (customer:read on the case's customer).
    customer = engine.authorize(staff, Permission.CUSTOMER_READ, resource)
    assert bool(customer) == bool(expected)


def test_customers_are_not_a_directory(engine: PolicyEngine) -> None:
    for staff in (ALICE, SUE, OLGA, ADAM):
        assert not engine.authorize(staff, Permission.CUSTOMER_READ, CustomerRef(uuid.uuid4()))


def test_assign_and_export_are_for_supervisors_of_the_queue(engine: PolicyEngine) -> None:
    assert engine.authorize(SUE, Permission.CASE_ASSIGN, case(BILLING)) == Allowed(via="scope.supervised-queue")
    assert not engine.authorize(ALICE, Permission.CASE_ASSIGN, case(BILLING, ALICE))
    assert engine.authorize(SUE, Permission.CASE_EXPORT, QueueRef(BILLING)) == Allowed(via="export.supervised-queue")
    assert engine.authorize(SUE, Permission.CASE_EXPORT, QueueRef(TECH)) == Denied("policy:no-permit")
    assert engine.authorize(ALICE, Permission.CASE_EXPORT, QueueRef(BILLING)) == Denied("forbid:guard.no-agent-export")


def test_a_permit_added_for_agents_cannot_override_the_export_guard(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    (directory / "99-careless.cedar").write_text(
        '@id("careless.agents-export")\n'
        'permit (principal is Staff, action == Action::"case:export", resource) when { principal.role == "agent" };\n'
        '@id("careless.everyone-exports")\npermit (principal, action == Action::"case:export", resource);\n'
    )
    widened = PolicyEngine.from_directory(directory)
    # The new permit is live (a supervisor of another queue may now export) ...
    assert widened.authorize(TOM, Permission.CASE_EXPORT, QueueRef(BILLING)) == Allowed(via="careless.everyone-exports")
    # ... but agents stay forbidden, even with a grant or break-glass in the context.
    for context in (RequestFacts(), RequestFacts(grant=True, break_glass=True, step_up=True, reason=True)):
        evaluation = widened.evaluate(ALICE, Permission.CASE_EXPORT, QueueRef(BILLING), context)
        assert evaluation.decision == Denied("forbid:guard.no-agent-export")


def test_reveal_needs_scope_step_up_and_reason(engine: PolicyEngine) -> None:
    mine = case(BILLING, ALICE)
    assert not engine.authorize(ALICE, Permission.CASE_REVEAL, mine)
    assert not engine.authorize(ALICE, Permission.CASE_REVEAL, mine, RequestFacts(step_up=True))
    assert not engine.authorize(ALICE, Permission.CASE_REVEAL, mine, RequestFacts(reason=True))
    both = RequestFacts(step_up=True, reason=True)
    assert engine.authorize(ALICE, Permission.CASE_REVEAL, mine, both) == Allowed(via="reveal.in-scope")
    assert engine.authorize(ALICE, Permission.CASE_REVEAL, case(TECH, BOB), both) == Denied("policy:no-permit")


def test_jit_grant_opens_one_out_of_scope_resource(engine: PolicyEngine) -> None:
    theirs = case(TECH, BOB)
    granted = RequestFacts(grant=True)
    assert engine.authorize(ALICE, Permission.CASE_READ, theirs, granted) == Allowed(via="grant.read")
    assert engine.authorize(ALICE, Permission.CUSTOMER_READ, CustomerRef(uuid.uuid4()), granted) == Allowed(
        via="grant.read"
    )
    assert not engine.authorize(ALICE, Permission.CASE_REVEAL, theirs, granted)
    assert engine.authorize(
        ALICE, Permission.CASE_REVEAL, theirs, RequestFacts(grant=True, step_up=True, reason=True)
    ) == Allowed(via="grant.reveal")
    # A grant never lets a security officer or an admin into content.
    assert engine.authorize(OLGA, Permission.CASE_READ, theirs, granted) == Denied(
        "forbid:guard.security-officer-no-content"
    )
    assert not engine.authorize(ADAM, Permission.CASE_READ, theirs, granted)


def test_grant_request_and_four_eyes_approval(engine: PolicyEngine) -> None:
    assert engine.authorize(ALICE, Permission.GRANT_REQUEST, case(TECH), RequestFacts(reason=True))
    assert not engine.authorize(ALICE, Permission.GRANT_REQUEST, case(TECH))  # no reason
    for_tech_case = AccessGrantFacts(uuid.uuid4(), requester_id=ALICE.staff_id, queue_id=TECH)
    assert engine.authorize(TOM, Permission.GRANT_APPROVE, for_tech_case) == Allowed(
        via="grant.approve-supervised-queue"
    )
    assert engine.authorize(SUE, Permission.GRANT_APPROVE, for_tech_case) == Denied("policy:no-permit")
    assert not engine.authorize(BOB, Permission.GRANT_APPROVE, for_tech_case)
    own_request = AccessGrantFacts(uuid.uuid4(), requester_id=TOM.staff_id, queue_id=TECH)
    assert engine.authorize(TOM, Permission.GRANT_APPROVE, own_request) == Denied("forbid:guard.no-self-approval")
    for_customer = AccessGrantFacts(uuid.uuid4(), requester_id=ALICE.staff_id)
    assert engine.authorize(SUE, Permission.GRANT_APPROVE, for_customer) == Allowed(via="grant.approve-customer")


def test_break_glass(engine: PolicyEngine) -> None:
    theirs = case(TECH, BOB)
    ready = RequestFacts(step_up=True, reason=True)
    assert engine.authorize(OLGA, Permission.BREAK_GLASS, theirs, ready) == Allowed(via="break-glass.start")
    assert not engine.authorize(OLGA, Permission.BREAK_GLASS, theirs, RequestFacts(reason=True))
    assert not engine.authorize(ADAM, Permission.BREAK_GLASS, theirs, ready)
    under = RequestFacts(break_glass=True)
    assert engine.authorize(OLGA, Permission.CASE_READ, theirs, under) == Allowed(via="break-glass.read")
    assert engine.authorize(ALICE, Permission.CASE_READ, theirs, under) == Allowed(via="break-glass.read")
    assert not engine.authorize(OLGA, Permission.CASE_REVEAL, theirs, under)
    assert engine.authorize(
        OLGA, Permission.CASE_REVEAL, theirs, RequestFacts(break_glass=True, step_up=True, reason=True)
    ) == Allowed(via="break-glass.reveal")


def test_suspended_staff_can_do_nothing(engine: PolicyEngine) -> None:
    suspended = StaffFacts(ALICE.staff_id, Role.AGENT, queues=ALICE.queues, suspended=True)
    everything = RequestFacts(step_up=True, reason=True, grant=True, break_glass=True)
    assert engine.authorize(suspended, Permission.CASE_READ, case(BILLING, suspended), everything) == Denied(
        "forbid:guard.suspended"
    )
    assert engine.authorize(suspended, Permission.SELF_MANAGE, PLATFORM) == Denied("forbid:guard.suspended")


@pytest.mark.parametrize("role", list(Role))
def test_platform_actions_agree_with_the_role_baseline(engine: PolicyEngine, role: Role) -> None:
    staff = StaffFacts(uuid.uuid4(), role)
    platform_actions = [
        Permission.CUSTOMER_MANAGE,
        Permission.ORGANIZATION_MANAGE,
        Permission.QUEUE_MANAGE,
        Permission.STAFF_MANAGE,
        Permission.TOKEN_MANAGE,
        Permission.AUDIT_READ,
        Permission.ALERT_READ,
        Permission.INCIDENT_MANAGE,
        Permission.SELF_MANAGE,
    ]
    for permission in platform_actions:
        assert bool(engine.authorize(staff, permission, PLATFORM)) == role_allows(role, permission), permission
    assert set(ROLE_PERMISSIONS) == set(Role)


def test_wrong_resource_type_fails_closed(engine: PolicyEngine) -> None:
    assert engine.authorize(SUE, Permission.CASE_READ, QueueRef(BILLING)) == Denied("policy:invalid-request")
    assert engine.authorize(ADAM, Permission.STAFF_MANAGE, case(BILLING)) == Denied("policy:invalid-request")


def test_reasons_are_policy_ids_only(engine: PolicyEngine) -> None:
    evaluation = engine.evaluate(SUE, Permission.CASE_READ, case(BILLING))
    assert evaluation.determining == ("scope.supervised-queue", "scope.triage")
    assert set(evaluation.determining) <= engine.policy_ids
    assert engine.effect_of("guard.no-agent-export") == "forbid"
    for staff in (ALICE, SUE, OLGA, ADAM):
        decision = engine.authorize(staff, Permission.CASE_READ, case(TECH, BOB))
        text = decision.via if isinstance(decision, Allowed) else decision.reason
        assert re.fullmatch(r"[a-z:.,\- ()0-9-]+", text), text
        assert str(BOB.staff_id) not in text


def test_case_decision_for_the_case_access_function(engine: PolicyEngine) -> None:
    mine = case(BILLING, ALICE)
    assert case_decision(engine, ALICE, mine) == Allowed(via="scope.assigned")
    assert case_decision(engine, None, mine) == Denied("policy:not-staff")
    assert case_decision(engine, ALICE, mine, Permission.CASE_EXPORT) == Denied("policy:invalid-request")

    class Row:  # anything shaped like cases.models.Case
        id = mine.case_id
        queue_id = TECH
        customer_id = mine.customer_id
        assignee_id = None

    assert case_decision(engine, BOB, Row()) == Allowed(via="scope.triage")
    assert case_decision(engine, ALICE, Row()) == Denied("policy:no-permit")


def test_shared_engine_is_parsed_once() -> None:
    assert shared_engine() is shared_engine()
    assert len(shared_engine().policy_ids) >= 20


@pytest.mark.parametrize(
    ("file_text", "message"),
    [
        ('@id("broken")\npermit (principal, action, resource) when { ;\n', "does not parse"),
        (
            '@id("typo")\npermit (principal is Staff, action == Action::"case:read", resource)'
            ' when { principal.rol == "agent" };\n',
            r"\[typo\].*rol",
        ),
        ('@id("nowhere")\npermit (principal, action == Action::"case:delete", resource);\n', "nowhere"),
        ('permit (principal, action == Action::"case:read", resource);\n', "no @id"),
        ('@id("scope.triage")\nforbid (principal, action, resource);\n', "duplicate policy @id"),
    ],
)
def test_an_invalid_policy_file_stops_start_up(tmp_path: Path, file_text: str, message: str) -> None:
    directory = copy_policies(tmp_path)
    (directory / "50-new.cedar").write_text(file_text)
    with pytest.raises(PolicyError, match=message):
        PolicyEngine.from_directory(directory)


def test_a_missing_schema_or_empty_policy_set_stops_start_up(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    (directory / "casevault.cedarschema").unlink()
    with pytest.raises(PolicyError, match=r"missing casevault\.cedarschema"):
        PolicyEngine.from_directory(directory)
    with pytest.raises(PolicyError, match="no policy files"):
        PolicyEngine({}, (POLICY_DIR / "casevault.cedarschema").read_text())


def test_facts_that_do_not_fit_the_schema_fail_closed() -> None:
    # Resource entities are checked against the schema once, at start-up: a mismatch stops the engine there.
    schema = (POLICY_DIR / "casevault.cedarschema").read_text().replace("  customer: Customer,\n", "")
    policies = {path.name: path.read_text() for path in POLICY_DIR.glob("*.cedar")}
    with pytest.raises(PolicyError, match="CaseFacts entities do not fit the schema"):
        PolicyEngine(policies, schema)
    # What the request itself gets wrong (a resource type the action does not take) still fails closed per call.
    engine = PolicyEngine.from_directory()
    assert engine.authorize(SUE, Permission.CASE_EXPORT, case(BILLING)) == Denied("policy:invalid-request")


def test_evaluate_each_matches_one_by_one(engine: PolicyEngine) -> None:
    resources = [case(BILLING, ALICE), case(BILLING), case(TECH), case(BILLING, BOB), case(TECH, ALICE)]
    for staff in (ALICE, SUE, OLGA):
        together = [evaluation.decision for evaluation in engine.evaluate_each(staff, Permission.CASE_READ, resources)]
        one_by_one = [engine.authorize(staff, Permission.CASE_READ, resource) for resource in resources]
        assert together == one_by_one
    assert [e.decision for e in engine.evaluate_each(ALICE, Permission.CASE_READ, resources)] == [
        Allowed(via="scope.assigned"),
        Allowed(via="scope.triage"),
        Denied("policy:no-permit"),
        Denied("policy:no-permit"),
        Allowed(via="scope.assigned"),
    ]
    assert engine.evaluate_each(ALICE, Permission.CASE_READ, []) == []
    mixed = engine.evaluate_each(SUE, Permission.CASE_EXPORT, [QueueRef(BILLING), case(BILLING)])
    assert [e.decision for e in mixed] == [Allowed(via="export.supervised-queue"), Denied("policy:invalid-request")]


def test_slicing_by_action_changes_no_decision_and_no_reason(engine: PolicyEngine) -> None:
    """The engine hands Cedar only the policies whose action scope can match; the whole set must agree on
    every decision and every determining policy, for every action, principal, resource and context."""
    import cedarpy

    from casevault.access import policy as policy_module

    text = "\n".join(path.read_text() for path in sorted(POLICY_DIR.glob("*.cedar")))
    whole = cedarpy.PolicySet.from_str(text)
    schema = cedarpy.Schema.from_str((POLICY_DIR / "casevault.cedarschema").read_text())
    grant = AccessGrantFacts(uuid.uuid4(), ALICE.staff_id)
    resources = [
        case(BILLING),
        case(BILLING, ALICE),
        case(TECH, BOB),
        CustomerRef(uuid.uuid4()),
        QueueRef(BILLING),
        PLATFORM,
        grant,
    ]
    contexts = [RequestFacts(), RequestFacts(step_up=True, reason=True), RequestFacts(break_glass=True, reason=True)]
    compared = 0
    for principal in (ALICE, BOB, SUE, TOM, OLGA, ADAM):
        for permission in Permission:
            for resource in resources:
                for context in contexts:
                    got = engine.evaluate(principal, permission, resource, context)
                    uid, entity = policy_module._resource(resource)
                    entities = f"[{policy_module._principal_json(principal)}{',' + entity if entity else ''}]"
                    request = policy_module._request(principal, permission, uid, context)
                    expected = cedarpy.is_authorized(request, whole, entities, schema)
                    ids = engine._annotations(text)[0]
                    want = sorted(ids.get(reason, reason) for reason in expected.diagnostics.reasons)
                    assert (bool(got.decision), list(got.determining)) == (expected.allowed, want), (
                        principal.role,
                        permission,
                        resource,
                        context,
                    )
                    compared += 1
    assert compared == 6 * len(Permission) * len(resources) * len(contexts)
