"""The examples in geo.stats docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "geo.stats",
    "geo.stats.fdr",
    "geo.stats.gistar",
    "geo.stats.grid",
    "geo.stats.hotspots",
    "geo.stats.mann_kendall",
    "geo.stats.moran",
    "geo.stats.priority",
    "geo.stats.rates",
    "geo.stats.trends",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
