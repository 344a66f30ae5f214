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
