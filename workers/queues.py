"""Queue names and job declarations in one place."""

from __future__ import annotations

QUEUE_NAMES = ("default", "analysis", "exports")
