"""Calendar months of a half-open period ``[since, until)``: which, and how much of each."""

from __future__ import annotations

import datetime as dt


def months(since: dt.date, until: dt.date) -> list[dt.date]:
    """First days of the months the period touches.

    >>> months(dt.date(2025, 1, 20), dt.date(2025, 3, 1))
    [datetime.date(2025, 1, 1), datetime.date(2025, 2, 1)]
    """
    out, month = [], since.replace(day=1)
    while month < until:
        out.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return out


def days_in_period(month: dt.date, since: dt.date, until: dt.date) -> int:
    """Days of ``month`` inside ``[since, until)``: fewer than the month's at the edges.

    >>> days_in_period(dt.date(2025, 1, 1), dt.date(2025, 1, 20), dt.date(2026, 1, 1))
    12
    """
    end = (month + dt.timedelta(days=32)).replace(day=1)
    return max(0, (min(end, until) - max(month, since)).days)


def is_full_month(month: dt.date, since: dt.date, until: dt.date) -> bool:
    """Whether the whole of ``month`` lies in the period."""
    end = (month + dt.timedelta(days=32)).replace(day=1)
    return days_in_period(month, since, until) == (end - month).days

