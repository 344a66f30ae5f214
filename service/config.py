"""Compatibility alias: settings live in :mod:`geo.settings`, where workers can read them too."""

from geo.settings import ConfigError, Settings, sqlalchemy_url

__all__ = ["ConfigError", "Settings", "sqlalchemy_url"]
