"""What every ``civicpulse`` command shares: settings read once, errors as CLI messages."""

from __future__ import annotations

import click

from geo.settings import ConfigError, Settings


def settings() -> Settings:
    """Settings from the environment; a bad setting ends the command with its message."""
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def service_codes(*values: str) -> list[str]:
    """Service codes from repeated and comma-separated ``--services`` values, as the API
    takes them (``["a", "b"]`` from ``--services a,b`` or ``--services a --services b``)."""
    return [code.strip() for value in values for code in value.split(",") if code.strip()]
