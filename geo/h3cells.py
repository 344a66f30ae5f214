"""H3 cells as 64-bit integers, and their parents derived in SQL by bit arithmetic.

Reports store the resolution-15 cell of their point. An H3 index keeps its
resolution in bits 52–55 and one 3-bit digit per resolution below it, unused
digits set to 7, so the parent at resolution ``r`` is the same integer with the
resolution field set to ``r`` and digits ``r+1…15`` set to 7. That lets
PostgreSQL group millions of reports by any coarser cell from an index, with no
H3 extension installed.
"""

from __future__ import annotations

import h3

from geo.schema import STORED_H3_RESOLUTION

_RES_MASK = 0xF << 52


def cell_of(lat: float, lng: float, res: int = STORED_H3_RESOLUTION) -> int:
    """The H3 cell of a WGS84 point as a signed 64-bit integer.

    >>> h3.int_to_str(cell_of(25.7617, -80.1918, 9))
    '8944a112847ffff'
    """
    return h3.str_to_int(h3.latlng_to_cell(lat, lng, res))


def parent(cell: int, res: int) -> int:
    """The parent of ``cell`` at ``res`` by the same arithmetic the SQL uses.

    >>> c = cell_of(25.7617, -80.1918)
    >>> parent(c, 9) == h3.str_to_int(h3.cell_to_parent(h3.int_to_str(c), 9))
    True
    """
    if not 0 <= res <= 15:
        raise ValueError("res must be between 0 and 15")
    low_digits = (1 << (3 * (15 - res))) - 1
    return (cell & ~_RES_MASK) | (res << 52) | low_digits


def parent_sql(column: str, res: int) -> str:
    """A SQL expression giving the resolution-``res`` parent of a BIGINT cell column.

    >>> parent_sql("r.h3_cell", 9)
    '((r.h3_cell & -67553994410557441) | 40532396646596607)'
    """
    if not 0 <= res <= 15:
        raise ValueError("res must be between 0 and 15")
    keep = ~_RES_MASK  # signed: Python's ~ gives the two's-complement value PostgreSQL expects
    set_bits = (res << 52) | ((1 << (3 * (15 - res))) - 1)
    return f"(({column} & {keep}) | {set_bits})"


def descendants_range_sql(column: str, res: int) -> tuple[str, str]:
    """SQL bounds ``(lo, hi)`` of the stored (res-15) cells inside ``column``'s res-``res`` parent.

    The resolution-15 descendants of one cell differ only in their low digits, so
    they form one contiguous integer range: ``h3_cell BETWEEN lo AND hi`` uses the
    B-tree index on ``reports.h3_cell``.
    """
    if not 0 <= res <= 15:
        raise ValueError("res must be between 0 and 15")
    low = (1 << (3 * (15 - res))) - 1
    keep = ~_RES_MASK & ~low
    lo = f"(({column} & {keep}) | {15 << 52})"
    hi = f"(({column} & {keep}) | {(15 << 52) | low})"
    return lo, hi
