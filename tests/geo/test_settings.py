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
