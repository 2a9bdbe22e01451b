"""Demo data: a deterministic generator of realistic support cases full of PII, and seeding it through services."""

from casevault.demo.generator import DemoDataset, DemoSize, generate
from casevault.demo.seed import DemoCredential, SeedSummary, issue_demo_tokens, seed_demo

__all__ = ["DemoCredential", "DemoDataset", "DemoSize", "SeedSummary", "generate", "issue_demo_tokens", "seed_demo"]
