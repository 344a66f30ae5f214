"""Versioned static files: a URL names its file's content, so it may be cached for a year."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from werkzeug.security import safe_join

#: A year: a versioned URL never changes content, so browsers may keep it that long.
LONG_MAX_AGE = 365 * 24 * 3600


@lru_cache(maxsize=256)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    """First 12 hex digits of the file's SHA-256 (cached per path, mtime and size)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def content_version(directory: Path, filename: str) -> str:
    """The version a file's URL carries (its content hash); empty for no such file."""
    found = safe_join(str(directory), filename)
    if found is None or not Path(found).is_file():
        return ""
    stat = Path(found).stat()
    return _digest(found, stat.st_mtime_ns, stat.st_size)
