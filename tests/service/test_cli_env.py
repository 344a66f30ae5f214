"""``civicpulse env``: the demo's settings again, or a message saying how to get them."""

from __future__ import annotations

import shlex

from click.testing import CliRunner

from service import devstack
from service.cli import main


def test_env_prints_the_line_the_demo_wrote(tmp_path, monkeypatch):
    line = devstack.export_line({"DATABASE_URL": "postgresql://root@127.0.0.1/civicpulse_demo",
                                 "REDIS_URL": "redis://127.0.0.1:6379/0", "CIVICPULSE_ENV": "dev",
                                 "CIVICPULSE_UNIT_COSTS": '{"flooding": 2500}'})
    (tmp_path / "demo.env").write_text(line + "\n")
    monkeypatch.setattr(devstack, "ENV_FILE", tmp_path / "demo.env")
    # No settings at all in the environment: this command must not need them.
    done = CliRunner().invoke(main, ["env"], env={"DATABASE_URL": "", "REDIS_URL": ""})
    assert done.exit_code == 0, done.output
    words = shlex.split(done.output)
    assert words[0] == "export"
    assert dict(w.split("=", 1) for w in words[1:])["CIVICPULSE_UNIT_COSTS"] == '{"flooding": 2500}'


def test_env_without_a_demo_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(devstack, "ENV_FILE", tmp_path / "demo.env")
    done = CliRunner().invoke(main, ["env"])
    assert done.exit_code == 1
    assert "make demo" in done.output and "DATABASE_URL" in done.output
