"""docs/security.md cannot lie: every test node id it names exists.

A row names tests as ``tests/…/test_x.py::test_name``; ``::test_other`` after it in the
same cell means the same file. Each file must exist and define the function (the
suite itself makes them pass).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
_NODE = re.compile(r"`(tests/[\w/]+\.py)?::(\w+)(?:\[[^\]`]*\])?`")


def named_tests(doc: str) -> list[tuple[str, str]]:
    """``(file, function)`` of every node id in ``doc``, row by row.

    >>> named_tests("| a | `tests/x.py::test_a`, `::test_b` |\\n| b | `tests/y.py::test_c[1]` |")
    [('tests/x.py', 'test_a'), ('tests/x.py', 'test_b'), ('tests/y.py', 'test_c')]
    """
    found = []
    for line in doc.splitlines():
        current = None
        for path, name in _NODE.findall(line):
            current = path or current
            assert current, f"'::{name}' with no file before it: {line[:80]}"
            found.append((current, name))
    return found


def test_every_test_the_security_doc_names_exists():
    doc = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    named = named_tests(doc)
    assert len(named) > 40
    missing = []
    for path, name in named:
        source = ROOT / path
        if not source.is_file() or not re.search(
                rf"^(async )?def {name}\(", source.read_text(encoding="utf-8"), re.M):
            missing.append(f"{path}::{name}")
    assert missing == []


def test_a_missing_test_is_found():
    """The check itself fails on a name that is not there."""
    assert named_tests("| x | `tests/test_security_doc.py::test_nope` |") == [
        ("tests/test_security_doc.py", "test_nope")]
    source = (ROOT / "tests/test_security_doc.py").read_text(encoding="utf-8")
    assert not re.search(r"^def test_nope\(", source, re.M)
