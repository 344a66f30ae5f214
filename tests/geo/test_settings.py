"""Settings read from the environment."""

from __future__ import annotations

import os

from geo.settings import Settings

BASE = {"DATABASE_URL": "postgresql://u@h/db", "REDIS_URL": "redis://h:6379/0",
        "CIVICPULSE_SECRET_KEY": "s" * 32}


def test_directories_are_absolute_against_the_starting_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    defaults = Settings.from_env(BASE)
    given = Settings.from_env({**BASE, "CIVICPULSE_MEDIA_DIR": "photos",
                               "CIVICPULSE_EXPORT_DIR": "../packs"})
    monkeypatch.chdir(os.sep)  # a later change of directory must not move them
    assert defaults.media_dir == str(tmp_path / "var" / "media")
    assert defaults.export_dir == str(tmp_path / "var" / "exports")
    assert given.media_dir == str(tmp_path / "photos")
    assert given.export_dir == str(tmp_path.parent / "packs")


def test_openid_connect_settings_come_all_together_with_a_role_mapping():
    import pytest

    from geo.settings import ConfigError

    oidc = {"CIVICPULSE_OIDC_ISSUER": "https://id.city.gov/realms/staff",
            "CIVICPULSE_OIDC_CLIENT_ID": "civicpulse", "CIVICPULSE_OIDC_CLIENT_SECRET": "s3cret",
            "CIVICPULSE_OIDC_ROLES": '{"gis": "planner", "grants": "grant_writer"}'}
    given = Settings.from_env({**BASE, **oidc})
    assert given.oidc_roles == {"gis": "planner", "grants": "grant_writer"}
    assert given.oidc_role_claim == "groups"
    assert "s3cret" not in repr(given)
    with pytest.raises(ConfigError, match="CIVICPULSE_OIDC_CLIENT_SECRET"):
        Settings.from_env({**BASE, **oidc, "CIVICPULSE_OIDC_CLIENT_SECRET": ""})
    with pytest.raises(ConfigError, match="CIVICPULSE_OIDC_ROLES is required"):
        Settings.from_env({**BASE, **oidc, "CIVICPULSE_OIDC_ROLES": ""})
    with pytest.raises(ConfigError, match="roles among planner"):
        Settings.from_env({**BASE, **oidc, "CIVICPULSE_OIDC_ROLES": '{"x": "app"}'})
    with pytest.raises(ConfigError, match="https://"):
        Settings.from_env({**BASE, **oidc, "CIVICPULSE_OIDC_ISSUER": "http://id.city.gov"})
