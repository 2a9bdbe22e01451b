"""Drills an operator runs to see what each breach would expose: `exposed-store` (stolen-session comes later)."""

from casevault.drills.errors import DrillError
from casevault.drills.exposed_store import (
    MIN_VALUE_LENGTH,
    CollectedSource,
    ExposedStoreReport,
    Finding,
    run_exposed_store_drill,
)
from casevault.drills.values import KnownValues, decrypt_known_values, read_values_file

__all__ = [
    "MIN_VALUE_LENGTH",
    "CollectedSource",
    "DrillError",
    "ExposedStoreReport",
    "Finding",
    "KnownValues",
    "decrypt_known_values",
    "read_values_file",
    "run_exposed_store_drill",
]
