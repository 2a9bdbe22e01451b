"""The smallest working deployment: one queue, one agent in it with an API token, one customer.

What the load benchmarks (benchmarks/api) and the process-level tests (`serve --workers`, `kill -9`) need before
they start a server: enough to create and read cases through the API, and nothing else to wait for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from casevault.access.actor import Actor
from casevault.access.roles import Role
from casevault.cases import services
from casevault.cases.models import QueueRole
from casevault.config import Settings
from casevault.crypto import Keyring, LocalKeyFile
from casevault.db.session import Database
from casevault.identity.models import Staff
from casevault.identity.tokens import issue_token

__all__ = ["OneAgentDeployment", "seed_one_agent"]


@dataclass(frozen=True, slots=True)
class OneAgentDeployment:
    """The agent's API token (scopes `case:create`, `case:read`) and the customer's reference."""

    token: str = field(repr=False)
    customer: str


def seed_one_agent(
    settings: Settings,
    *,
    label: str,
    customer_name: str,
    customer_email: str,
    country: str,
    token_ttl: timedelta = timedelta(hours=1),
) -> OneAgentDeployment:
    """Seed an initialised, migrated deployment (`init_data_dir`) through the services, audited as the CLI.

    `label` names the queue, the agent (`<label>-agent`), the token and the audit actor, so a trail shows
    which harness wrote it.
    """
    keyring = Keyring(LocalKeyFile(settings.resolved_key_file))
    operator = Actor.cli(label)
    db = Database(settings.resolved_database_url)
    try:
        with db.unit_of_work() as session:
            queue = services.create_queue(session, name=label, actor=operator)
            agent = Staff(username=f"{label}-agent", display_name=f"{label.title()} Agent", role=Role.AGENT)
            session.add(agent)
            session.flush()
            services.add_queue_member(session, queue, agent, role=QueueRole.MEMBER, actor=operator)
            customer = services.create_customer(
                session, keyring=keyring, name=customer_name, email=customer_email, country=country, actor=operator
            )
            _, token = issue_token(session, agent, name=label, scopes=["case:create", "case:read"], ttl=token_ttl)
            reference = customer.reference
    finally:
        db.dispose()
    return OneAgentDeployment(token=token, customer=reference)
