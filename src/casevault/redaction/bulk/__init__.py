"""Bulk redaction of JSONL, CSV and Parquet files: sharded, resumable, multi-process (and Spark, optional)."""

from __future__ import annotations

from casevault.redaction.bulk.fields import parse_path
from casevault.redaction.bulk.runner import FORMATS, BulkError, BulkOptions, Shard, load_summary, plan_shards, run_bulk

__all__ = ["FORMATS", "BulkError", "BulkOptions", "Shard", "load_summary", "parse_path", "plan_shards", "run_bulk"]
