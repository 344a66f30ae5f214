"""The dependency rule of docs/architecture.md holds, and breaking it is caught.

The rule is the import-linter contracts in pyproject.toml. The first test checks the
tree as it is; the others copy the packages to a scratch directory, add one
forbidden import, and check that the same contracts now fail.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("geo", "service", "workers", "migrations")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter with ``root`` first on the path, using its pyproject.toml."""
    return subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
         "--no-cache"],
        cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=300, check=False,
    )


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


BREAKS = {
    "geo imports the web service": ("geo/privacy.py", "import service.errors"),
    "geo imports Flask": ("geo/h3cells.py", "import flask"),
    "geo imports Redis": ("geo/outbox.py", "import redis"),
    "workers import the web service": ("workers/relay.py", "import service.auth"),
    "stats import a domain above them": ("geo/stats/fdr.py", "import geo.hotspots.engine"),
    "a module imports one that imports it back": ("geo/h3cells.py", "import geo.privacy"),
    "auth imports a view that imports it": ("service/auth.py", "import service.api.reports"),
}


@pytest.mark.parametrize("case", sorted(BREAKS))
def test_a_forbidden_import_breaks_a_contract(case: str, tmp_path: Path) -> None:
    module, line = BREAKS[case]
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__", "static", "templates"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # noqa\n",
                      encoding="utf-8")
    result = lint_imports(tmp_path)
    assert result.returncode != 0, f"{case}: no contract failed\n{result.stdout}"
    assert "BROKEN" in result.stdout
