"""The `casevault` command: one typer app; each capability registers its own commands."""

from __future__ import annotations

import typer

from casevault.cli import audit, drill, identity, incident, redact, scan, server, staff

__all__ = ["app", "main"]

app = typer.Typer(
    name="casevault",
    help="casevault: support cases with sealed PII, audited reads, and an exposure scanner.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Order matters only for --help listing; identity adds to the `staff` group created by staff.
for _module in (server, staff, identity, audit, incident, drill, redact, scan):
    _module.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
