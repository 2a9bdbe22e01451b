"""Drills an operator runs to see what each breach would expose: `exposed-store` and `stolen-session`."""

from casevault.drills.errors import DrillError
from casevault.drills.exposed_store import (
    MIN_VALUE_LENGTH,
    CollectedSource,
    ExposedStoreReport,
    Finding,
    run_exposed_store_drill,
)
from casevault.drills.stolen_session import TARGET_MAX_CUSTOMERS, StolenSessionReport, run_stolen_session_drill
from casevault.drills.values import KnownValues, decrypt_known_values, read_values_file

__all__ = [
    "MIN_VALUE_LENGTH",
    "TARGET_MAX_CUSTOMERS",
    "CollectedSource",
    "DrillError",
    "ExposedStoreReport",
    "Finding",
    "KnownValues",
    "StolenSessionReport",
    "decrypt_known_values",
    "read_values_file",
    "run_exposed_store_drill",
    "run_stolen_session_drill",
]
