"""audit append in one call: lock, chain head, hashes and inserts in a PL/pgSQL function (PostgreSQL)

Every request appends its audit events at commit under the chain lock (ADR 0300). From Python that was three
round trips (the advisory lock, the head read, the insert). `casevault_audit_append` does all three in one call
and hashes each event itself with the canonical v1 text (ADR 0303: `ROW(...)::text`, the expression verify
recomputes), so the chain stays exactly verifiable. See docs/adr/0457-audit-append-as-one-server-side-call.md.

SECURITY INVOKER: it runs with the caller's privileges, so the application role still holds only SELECT and
INSERT on the audit tables (0002_audit) and the append-only triggers apply as before. The lock key, encoding
version and genesis hash come from the caller (`casevault.audit.trail`), so this function holds no constant
that could drift from the Python side. It is VOLATILE, so in READ COMMITTED the head read takes its snapshot
after the lock is granted and sees the previous holder's commit. SQLite keeps its own path in Python.

Revision ID: 0011_audit_append_function
Revises: 0010_alert_handling
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_audit_append_function"
down_revision: str | None = "0010_alert_handling"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "casevault_app"

_ARGUMENTS = (
    "p_lock_key bigint, p_encoding smallint, p_genesis bytea, "
    "p_occurred_at timestamptz[], p_actor_id uuid[], p_actor_label text[], p_session_ref text[], "
    "p_ip_prefix text[], p_action text[], p_outcome text[], p_reason text[], p_target_type text[], "
    "p_target_id text[], p_fields text[], p_detail text[], "
    "p_subject_event integer[], p_subject_customer uuid[], p_subject_case uuid[], p_subject_exposure text[]"
)
_SIGNATURE = (
    "bigint, smallint, bytea, timestamptz[], uuid[], text[], text[], text[], text[], text[], text[], text[], "
    "text[], text[], text[], integer[], uuid[], uuid[], text[]"
)

# The payload is the row literal verify.py's _PAYLOAD_SQL builds from the stored row, column for column; the
# subjects are their own row literals, sorted bytewise (COLLATE "C") and concatenated, as verify sorts them.
_FUNCTION = f"""
CREATE FUNCTION casevault_audit_append({_ARGUMENTS})
RETURNS TABLE (event_seq bigint, event_prev_hash bytea, event_hash bytea)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
-- The text form of timestamptz depends on these two settings; encoding v1 is UTC and ISO.
SET TimeZone = 'UTC'
SET DateStyle = 'ISO, YMD'
SET search_path = public, pg_temp
AS $fn$
DECLARE
    v_seq bigint;
    v_prev bytea;
    v_hash bytea;
    v_first bigint;
    v_count bigint;
    v_body text;
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock_key);
    SELECT e.seq, e.hash INTO v_seq, v_prev FROM audit_events e ORDER BY e.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        v_seq := 0;
        v_prev := p_genesis;
    END IF;
    v_first := v_seq + 1;
    FOR i IN 1 .. coalesce(array_length(p_occurred_at, 1), 0) LOOP
        v_seq := v_seq + 1;
        SELECT count(*), coalesce(string_agg(s.enc, ''), '') INTO v_count, v_body
        FROM (
            SELECT (ROW(u.customer_id, u.case_id, u.exposure)::text) COLLATE "C" AS enc
            FROM unnest(p_subject_event, p_subject_customer, p_subject_case, p_subject_exposure)
                AS u(event_index, customer_id, case_id, exposure)
            WHERE u.event_index = i
            ORDER BY 1
        ) AS s;
        v_hash := pg_catalog.sha256(v_prev || convert_to(ROW(
            p_encoding, v_seq, p_occurred_at[i], p_actor_id[i], p_actor_label[i], p_session_ref[i], p_ip_prefix[i],
            p_action[i], p_outcome[i], p_reason[i], p_target_type[i], p_target_id[i], p_fields[i]::json,
            p_detail[i]::json, v_count, v_body
        )::text, 'UTF8'));
        INSERT INTO audit_events (seq, encoding, occurred_at, actor_id, actor_label, session_ref, ip_prefix, action,
            outcome, reason, target_type, target_id, fields, detail, prev_hash, hash)
        VALUES (v_seq, p_encoding, p_occurred_at[i], p_actor_id[i], p_actor_label[i], p_session_ref[i],
            p_ip_prefix[i], p_action[i], p_outcome[i], p_reason[i], p_target_type[i], p_target_id[i],
            p_fields[i]::json, p_detail[i]::json, v_prev, v_hash);
        event_seq := v_seq;
        event_prev_hash := v_prev;
        event_hash := v_hash;
        RETURN NEXT;
        v_prev := v_hash;
    END LOOP;
    INSERT INTO audit_subjects (event_seq, customer_id, case_id, exposure)
    SELECT v_first + u.event_index - 1, u.customer_id, u.case_id, u.exposure
    FROM unnest(p_subject_event, p_subject_customer, p_subject_case, p_subject_exposure)
        AS u(event_index, customer_id, case_id, exposure);
END
$fn$
"""  # noqa: S608 (built from constants only)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_FUNCTION)
    op.execute(f"REVOKE ALL ON FUNCTION casevault_audit_append({_SIGNATURE}) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION casevault_audit_append({_SIGNATURE}) TO {APP_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS casevault_audit_append({_SIGNATURE})")
