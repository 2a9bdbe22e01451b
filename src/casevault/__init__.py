"""casevault: a support-case platform built so a stolen agent session or an exposed store leaks nothing."""

__all__ = ["__version__"]

__version__ = "0.1.0"
