"""The pack's sentences: headline finding, data quality, method, and number formats.

Kept apart from the layout (``pdf``) so the wording can be read and reviewed as text;
the sentences come back markup-escaped, ready for a ReportLab Paragraph.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from xml.sax.saxutils import escape

import h3

from geo.evidence.periods import is_full_month
from geo.evidence.query import Evidence


def day(d: dt.date) -> str:
    """A date as a reviewer reads it: ``3 Feb 2025``."""
    return f"{d.day} {d.strftime('%b %Y')}"


def money(x: float | None) -> str:
    """Dollars without cents: ``$12,500``."""
    return "—" if x is None else f"${x:,.0f}"


def people(x: float | None) -> str:
    """An estimated head count: ``≈1,230``, or ``unknown``."""
    return "unknown" if x is None else f"≈{x:,.0f}"


def half_change(ev: Evidence) -> float | None:
    """Reports in the second half of the full months vs the first half (fraction), if defined.

    Partial months at the period's edges are left out: they would read as a drop.
    """
    full = [m for m in ev.months if is_full_month(m, ev.since, ev.until)]
    totals = [sum(r["reports"] for r in ev.monthly if r["month"] == m) for m in full]
    half = len(totals) // 2
    if half == 0 or sum(totals[:half]) == 0:
        return None
    return sum(totals[-half:]) / sum(totals[:half]) - 1


def finding(ev: Evidence) -> str:
    """The sentence under the headline numbers: per service, and how concentrated it is."""
    s = ev.run_summary
    if not s["cells"]:
        return "The hotspot run has no cells in this area."
    share_cells = s["hot95_cells"] / s["cells"]
    share_reports = s["hot95_reports"] / s["run_reports"] if s["run_reports"] else 0
    per = "; ".join(
        f"{x['name']}: {ev.by_service[x['code']]['reports']:,} reports, "
        f"{ev.by_service[x['code']]['incidents']:,} after merging repeats" for x in ev.services)
    return escape(f"{per}. ") + escape(
        f"Hot spots at 95 % confidence or more cover {share_cells:.0%} of the area's "
        f"{s['cells']:,} cells and hold {share_reports:.0%} of the reports the run analysed "
        f"there; {s['cold_cells']:,} cells are significantly cold and {s['no_data_cells']:,} "
        "have no data. "
        f"{plural(len(ev.areas), 'contiguous hot-spot area')} ranked below by priority."
    )


def plural(count: int, noun: str) -> str:
    """``1 area`` / ``3 areas``."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def short_components(components: dict[str, Any]) -> str:
    """Score components in a table cell: ``rep 0.80 · sig 0.91``."""
    return " · ".join(f"{k[:3]} {float(v):.2f}" for k, v in sorted(components.items()))


def quality(ev: Evidence) -> list[str]:
    """The data-quality bullets: period, counts, merges, gaps, suppression, the caveat."""
    s, t = ev.run_summary, ev.totals
    per = "; ".join(f"{x['name']} {ev.by_service[x['code']]['reports']:,}" for x in ev.services)
    counts = ev.run.get("counts") or {}
    items = [
        f"Period: {day(ev.since)} to {day(ev.until - dt.timedelta(days=1))} (UTC days).",
        f"Reports analysed: {t['reports']:,} ({per}). Reports marked duplicate by staff are "
        "excluded.",
        f"Repeats merged: {t['repeats_merged']:,} (at most one report per reporter per cell per "
        "day counts as a problem).",
        f"Reports without a location in the period (not mapped, city-wide): "
        f"{s['reports_without_location']:,}; reports in this area outside the run's study area: "
        f"{s['reports_outside_study_area']:,}.",
        f"Cells suppressed for privacy: {t['cells_suppressed']:,} (fewer than three distinct "
        "reporters of a non-public service, none included: counts withheld, colour kept). "
        f"Hot cells the run left unmarked because fewer than 3 people reported in their "
        f"neighbourhood (whole run): {counts.get('suppressed_few_reporters', 'not recorded')}.",
        "Caveat: reports measure where residents report, not only where problems are. Reporting "
        "rates differ between neighbourhoods (smartphone access, trust in the city, language, "
        "renting or owning), so a cold or grey cell is not evidence that there is no problem. "
        "Combine with inspections and other data (housing age, blood-lead tests, flood claims).",
    ]
    return [escape(i) for i in items]


def method(ev: Evidence) -> list[str]:
    """The method bullets, with the values the run used."""
    p = ev.run.get("params") or {}
    counts = ev.run.get("counts") or {}
    k = ev.run.get("rings") or p.get("rings")
    auto = " (chosen automatically from the z-score profile)" if p.get("rings") == "auto" else ""
    km2 = h3.average_hexagon_area(ev.resolution, unit="km^2")
    sev = ", ".join(f"{s['name']} {s['severity']:g}" for s in ev.services)
    half = p.get("half_life_days")
    weights = counts.get("priority_weights") or p.get("priority_weights") or {}
    items = [
        f"Statistic: Getis-Ord Gi* (Ord & Getis 1995) on H3 hexagons at resolution "
        f"{ev.resolution} (average cell {km2:.3f} km²), every cell of the study area analysed, "
        "empty ones as zeros.",
        f"Neighbourhood: the cell and K = {k} rings around it{auto}, binary weights, self "
        "included. Two-sided p-values; hot and cold at 90/95/99 % after Benjamini–Hochberg "
        "false-discovery-rate correction. Cells with no reports nearby are “no data”, not cold.",
        f"Weights: each problem counts its service's severity ({sev}); "
        + (f"recency decay with a half-life of {half:g} days; " if half else "no recency decay; ")
        + f"measure: {p.get('measure', 'counts')}.",
        f"Trends: emerging hot-spot analysis (space-time Gi*, Mann–Kendall) over "
        f"{counts.get('time_bins', '?')} {p.get('time_step', 'week')}ly bins.",
        "Priority: weighted sum of normalised components, weights "
        + (", ".join(f"{n} {float(w):.2f}" for n, w in sorted(weights.items())) or "as default")
        + "; areas are contiguous hot cells (95 %+).",
    ]
    return [escape(i) for i in items]
