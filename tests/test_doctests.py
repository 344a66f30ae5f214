"""Every ``>>>`` example in geo/, service/ and workers/ runs and prints what it claims.

The module list is found by walking the packages, so an example added anywhere is
run without anyone remembering to list it. The numeric modules of ``geo.stats``
must carry examples (their docstrings are their reference vectors).
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import geo
import service
import workers

MUST_HAVE_EXAMPLES = {
    "geo.stats", "geo.stats.fdr", "geo.stats.gistar", "geo.stats.grid", "geo.stats.hotspots",
    "geo.stats.mann_kendall", "geo.stats.moran", "geo.stats.priority", "geo.stats.rates",
    "geo.stats.trends",
}


def _modules() -> list[str]:
    """Every module of the three packages whose source holds a ``>>>`` example.

    The source is read, not imported: some modules act on import (``service.wsgi``
    builds the app from the environment).
    """
    names = []
    for package in (geo, service, workers):
        infos = [(package.__name__, package.__file__)]
        for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
            spec = importlib.util.find_spec(info.name)
            infos.append((info.name, spec.origin if spec else None))
        names += [name for name, origin in infos
                  if origin and ">>>" in Path(origin).read_text(encoding="utf-8")]
    return sorted(set(names) | MUST_HAVE_EXAMPLES)


MODULES = _modules()


def test_the_walk_finds_examples_outside_stats() -> None:
    assert set(MODULES) >= MUST_HAVE_EXAMPLES
    assert len([m for m in MODULES if not m.startswith("geo.stats")]) >= 20


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0


def test_no_example_is_skipped() -> None:
    """A skipped example is an example nobody runs: it goes, or it runs."""
    skipped = [
        str(path) for package in (geo, service, workers)
        for path in Path(package.__path__[0]).rglob("*.py")
        if "doctest: +SKIP" in path.read_text(encoding="utf-8")
    ]
    assert skipped == []
