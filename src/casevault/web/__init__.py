"""The agent console: server-rendered pages (Jinja2 + vendored htmx) under a strict Content-Security-Policy."""

from casevault.web.console import install, router
from casevault.web.rendering import CONTENT_SECURITY_POLICY

__all__ = ["CONTENT_SECURITY_POLICY", "install", "router"]
