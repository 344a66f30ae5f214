"""``evidence.pdf`` with ReportLab: a one-page summary, then the detail a reviewer asks for.

ReportLab needs no system libraries (WeasyPrint would need Pango); fonts are the
DejaVu TTFs that ship with matplotlib, embedded, so "≥", "≈" and "–" print and
the text extracts cleanly.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import matplotlib
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from geo.evidence.budget import AreaCost, Selection
from geo.evidence.narrative import (
    day,
    finding,
    half_change,
    method,
    money,
    people,
    quality,
    short_components,
)
from geo.evidence.periods import is_full_month
from geo.evidence.query import Evidence

_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"
_GRID = colors.HexColor("#c8c8c8")
_HEAD = colors.HexColor("#eef2f6")


def _fonts() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(_FONT_DIR / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont(BOLD, str(_FONT_DIR / "DejaVuSans-Bold.ttf")))
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=8.5, leading=11)
    return {
        "base": base,
        "bullet": ParagraphStyle("bullet", parent=base, leftIndent=10, bulletIndent=0,
                                 spaceAfter=1.5),
        "small": ParagraphStyle("small", parent=base, fontSize=7, leading=8.8),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.2, leading=8.8),
        "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=15, leading=18),
        "sub": ParagraphStyle("sub", parent=base, fontSize=9, leading=12,
                              textColor=colors.HexColor("#444444")),
        "h2": ParagraphStyle("h2", parent=base, fontName=BOLD, fontSize=11, leading=14,
                             spaceBefore=8, spaceAfter=4, keepWithNext=1),
        "num": ParagraphStyle("num", parent=base, fontName=BOLD, fontSize=17, leading=20,
                              alignment=TA_CENTER, textColor=colors.HexColor("#1f3b57")),
        "label": ParagraphStyle("label", parent=base, fontSize=7.5, leading=9.5,
                                alignment=TA_CENTER),
    }


def render(
    ev: Evidence,
    costs: Sequence[AreaCost],
    selection: Selection | None,
    map_png: Path,
    trend_png: Path,
    path: Path,
    *,
    export_id: int | None,
    generated_at: dt.datetime,
    version: str,
    files: Sequence[str],
    effects: Sequence[dict[str, Any]] = (),
    effects_png: Path | None = None,
) -> Path:
    """Write the PDF to ``path``; ``effects`` are rows of ``intervention_effects.csv``."""
    _fonts()
    st = _styles()
    names = ", ".join(s["name"] for s in ev.services) or "all services"
    last = ev.until - dt.timedelta(days=1)
    run_id = ev.run["id"]

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 6.5)
        canvas.setFillColor(colors.HexColor("#666666"))
        canvas.drawString(
            0.5 * inch, 0.35 * inch,
            f"CivicPulse {version} · evidence pack {export_id or '(local)'} · hotspot run "
            f"{run_id} · data fingerprint {(ev.run.get('fingerprint') or '')[:16]} · generated "
            f"{generated_at:%Y-%m-%d %H:%M} UTC",
        )
        canvas.drawRightString(8.0 * inch, 0.35 * inch, f"page {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        str(path), pagesize=letter, leftMargin=0.5 * inch, rightMargin=0.5 * inch,
        topMargin=0.45 * inch, bottomMargin=0.55 * inch,
        title=f"Evidence summary: {names} in {ev.area_name}", author="CivicPulse",
        subject=f"{day(ev.since)} to {day(last)}", creator=f"CivicPulse {version}",
    )
    partial = [m for m in ev.months if not is_full_month(m, ev.since, ev.until)]
    trend_note = (
        "Bars are reports per calendar month (UTC) in the area; the line counts each reporter "
        "once per cell and day. "
        + (f"Hatched bars are partial months at the period's edges "
           f"({', '.join(m.strftime('%b %Y') for m in partial)})." if partial else "")
    )
    story: list[Any] = [
        Paragraph(escape(f"Evidence summary: {names}"), st["title"]),
        Paragraph(escape(f"{ev.area_name} · {day(ev.since)} – {day(last)} · hotspot run {run_id}"
                         f" (H3 resolution {ev.resolution})"), st["sub"]),
        Spacer(1, 6),
        _headline(ev, costs, selection, st),
        Spacer(1, 5),
        Paragraph(finding(ev), st["base"]),
        Spacer(1, 4),
        _figure(map_png, 7.5),
        Paragraph(
            "Map: hexagonal H3 cells coloured by Getis-Ord Gi* significance after false-"
            "discovery-rate correction; grey cells have no reports in their neighbourhood (no "
            "data, not “safe”). Individual reports are never shown. Reporting rates differ "
            "between neighbourhoods — see Data quality.", st["small"]),
        PageBreak(),
        Paragraph("Monthly reports by service", st["h2"]),
        _figure(trend_png, 7.3),
        Paragraph(escape(trend_note), st["small"]),
        KeepTogether([Paragraph("Ranked priority areas", st["h2"]), *_areas_table(ev, st)]),
        KeepTogether([Paragraph("Districts", st["h2"]), _districts_table(ev, st)]),
        KeepTogether([Paragraph("Funding request", st["h2"]), *_funding(ev, costs, selection, st)]),
        *_effects(effects, effects_png, st),
        Paragraph("Data quality", st["h2"]),
        *[Paragraph(p, st["bullet"], bulletText="•") for p in quality(ev)],
        Paragraph("Method", st["h2"]),
        *[Paragraph(p, st["bullet"], bulletText="•") for p in method(ev)],
        Paragraph("Provenance", st["h2"]),
        _provenance(ev, st, export_id, generated_at, version, files),
    ]
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return path


def _png_ratio(path: Path) -> float:
    with open(path, "rb") as fh:
        head = fh.read(24)
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    return height / width


#: The tallest figure a page's frame holds beside its heading (inches).
MAX_FIGURE_HEIGHT = 8.8


def _figure(path: Path, width_in: float) -> Image:
    """A PNG at ``width_in`` inches wide, shrunk to fit a page when it is taller.

    The monthly chart grows a row per two services: a city-wide pack of a city
    with twenty services would otherwise not fit its page, and rendering fails.
    """
    height = width_in * _png_ratio(path)
    scale = min(1.0, MAX_FIGURE_HEIGHT / height)
    return Image(str(path), width=width_in * scale * inch, height=height * scale * inch)


def _table(rows: list[list[Any]], widths: Sequence[float], *, align_right: int = 99) -> Table:
    table = Table(rows, colWidths=[w * inch for w in widths], repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 7.2),
        ("FONT", (0, 0), (-1, 0), BOLD, 7.2),
        ("BACKGROUND", (0, 0), (-1, 0), _HEAD),
        ("LINEBELOW", (0, 0), (-1, -1), 0.3, _GRID),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (align_right, 1), (-1, -1), "RIGHT"),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))
    return table


def _headline(ev: Evidence, costs: Sequence[AreaCost], selection: Selection | None,
              st: dict[str, ParagraphStyle]) -> Table:
    s = ev.run_summary
    change = half_change(ev)
    pop = sum(a["population"] or 0 for a in ev.areas)
    known = any(a["population"] is not None for a in ev.areas)
    if selection is None:
        money_num, money_label = "not set", "Estimated cost (give unit costs)"
    elif selection.budget is None:
        money_num = money(selection.spent)
        money_label = f"Estimated cost of {len(selection.chosen)} costed priority areas"
    else:
        money_num = money(selection.budget)
        money_label = (f"Budget funds {len(selection.chosen)} of {len(costs)} areas, "
                       f"{people(selection.people) if known else 'people unknown'} residents")
    boxes = [
        (f"{ev.totals['reports']:,}", "Reports analysed"),
        (f"{ev.totals['incidents']:,}", "Problems after merging repeats"),
        (f"{s['hot95_cells']:,} of {s['cells']:,}", "Hot spot cells (95 %+ confidence)"),
        (f"{len(ev.areas):,}", f"Priority areas · {people(pop) if known else 'population unknown'}"
                               " residents"),
        ("n/a" if change is None else f"{change:+.0%}",
         "Reports, 2nd vs 1st half of the full months"),
        (money_num, money_label),
    ]
    cells = [[Paragraph(escape(n), st["num"]), Paragraph(escape(lbl), st["label"])]
             for n, lbl in boxes]
    grid = [cells[0:3], cells[3:6]]
    table = Table(grid, colWidths=[2.5 * inch] * 3)
    table.setStyle(TableStyle([
        ("BOX", (0, 0), (-1, -1), 0.5, _GRID), ("INNERGRID", (0, 0), (-1, -1), 0.5, _GRID),
        ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#f7f9fb")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))
    return table


def _areas_table(ev: Evidence, st: dict[str, ParagraphStyle], limit: int = 20) -> list[Any]:
    # A list, not a KeepTogether: ReportLab pushes nested KeepTogethers to a new page.
    if not ev.areas:
        return [Paragraph("No priority areas: no contiguous hot spots at 95 % or more.",
                          st["base"])]
    rows: list[list[Any]] = [["Rank", "Area", "Districts", "Reports", "Residents", "Trend",
                              "Score", "Score components"]]
    for a in ev.areas[:limit]:
        rows.append([
            a["rank"], a["area_id"], Paragraph(escape(a["districts"] or "—"), st["cell"]),
            "withheld" if a["suppressed"] else f"{a['reports']:,}", people(a["population"]),
            Paragraph(escape((a["trend"] or "—").replace("_", " ")), st["cell"]),
            f"{a['score']:.3f}", Paragraph(escape(short_components(a["components"])), st["cell"]),
        ])
    note = (f"Top {min(limit, len(ev.areas))} of {len(ev.areas)} areas; all are in "
            "data/priority_areas.csv. Components are normalised to 0–1 (sig = significance, rep = "
            "reports, tre = trend, sev = severity, pop = population); residents are district "
            "populations spread by area.")
    return [_table(rows, (0.4, 0.4, 1.5, 0.6, 0.7, 1.1, 0.5, 2.1), align_right=3),
            Paragraph(escape(note), st["small"])]


def _effects(rows: Sequence[dict[str, Any]], chart: Path | None,
             st: dict[str, ParagraphStyle]) -> list[Any]:
    """"Did it work?": past interventions in the area, their effect and caveats."""
    if not rows:
        return []
    table: list[list[Any]] = [["Intervention", "Dates", "Effect", "95 % interval",
                               "$ per avoided report", "Caveats"]]
    for r in rows:
        done = r["effect_ratio"] is not None
        table.append([
            Paragraph(escape(r["name"]), st["cell"]), f"{r['start_date']} – {r['end_date']}",
            f"{r['effect_ratio']:.2f}" if done else (r["evaluation_status"] or "—"),
            f"{r['ci_low']:.2f}–{r['ci_high']:.2f}" if done else "—",
            money(r["cost_per_avoided_report"]) if r["cost_per_avoided_report"] else "—",
            Paragraph(escape(r["caveats"] or "—"), st["cell"]),
        ])
    out: list[Any] = [
        Paragraph("Did it work? Effect of past interventions", st["h2"]),
        _table(table, (1.4, 1.2, 0.5, 0.8, 0.8, 2.8), align_right=2),
        Paragraph(escape(
            "Effect: the after/before change in reports in the intervention's cells relative "
            "to matched comparison cells (1 = no change, 0.5 = halved); difference-in-"
            "differences, see the method notes of each evaluation. Reports measure reporting, "
            "not the hazard itself."), st["small"]),
    ]
    if chart is not None:
        out.append(_figure(chart, 7.3))
    return out


def _districts_table(ev: Evidence, st: dict[str, ParagraphStyle]) -> Any:
    if not ev.districts:
        return Paragraph("No district boundaries overlap this area.", st["base"])
    rows: list[list[Any]] = [["District", "Population", "Living in area", "Reports",
                              "Per 1,000 residents"]]
    for d in ev.districts:
        rows.append([
            Paragraph(escape(d["district"]), st["cell"]),
            "unknown" if d["population"] is None else f"{d['population']:,}",
            people(d["population_in_area"]), f"{d['reports']:,}",
            "—" if d["per_1000"] is None else f"{d['per_1000']:,.1f}",
        ])
    return _table(rows, (2.6, 1.1, 1.1, 1.0, 1.2), align_right=1)


def _funding(ev: Evidence, costs: Sequence[AreaCost], selection: Selection | None,
             st: dict[str, ParagraphStyle]) -> list[Any]:
    unit = ev.params.get("unit_costs") or {}
    if selection is None:
        return [Paragraph("No unit costs were given for these services, so no budget is "
                          "estimated. Request the pack with unit_costs (dollars per problem, by "
                          "service) to add one.", st["base"])]
    rows: list[list[Any]] = [["Service", "Unit cost (per problem)", "Problems in priority areas",
                              "Estimated cost"]]
    for s in ev.services:
        n = sum(c.need.incidents.get(s["code"], 0) for c in costs)
        cost = unit.get(s["code"])
        rows.append([s["name"], money(cost), f"{n:,}", "—" if cost is None else money(n * cost)])
    out: list[Any] = [_table(rows, (2.4, 1.6, 1.8, 1.4), align_right=1), Spacer(1, 3)]
    chosen = selection.chosen
    if selection.budget is None:
        out.append(Paragraph(escape(
            f"Addressing all {len(chosen)} costed priority areas would cost about "
            f"{money(selection.spent)}, for {people(selection.people)} residents and "
            f"{selection.reports:,} reports."), st["base"]))
    else:
        ids = ", ".join(str(a.need.area_id) for a in chosen) or "none"
        left_over = money(selection.budget - selection.spent)
        out.append(Paragraph(escape(
            f"With a budget of {money(selection.budget)}, areas chosen by priority per dollar: "
            f"{ids}. They cost {money(selection.spent)} ({left_over} left), serve "
            f"{people(selection.people)} residents and address "
            f"{selection.reports:,} reports."), st["base"]))
    if selection.left_out:
        left = "; ".join(f"area {a.need.area_id} ({money(a.cost)}): {why}"
                         for a, why in selection.left_out[:15])
        more = len(selection.left_out) - 15
        out.append(Paragraph(escape(f"Left out: {left}" + (f"; and {more} more" if more > 0
                                                           else "") + "."), st["base"]))
    return out


def _provenance(ev: Evidence, st: dict[str, ParagraphStyle], export_id: int | None,
                generated_at: dt.datetime, version: str, files: Sequence[str]) -> Table:
    params = dict(ev.params)
    area = dict(params.get("area") or {})
    if "geometry" in area:
        g = area.pop("geometry")
        area["geometry"] = f"GeoJSON {g['type']} (stored with the export)"
    params["area"] = area
    rows = [
        ["Evidence pack", str(export_id or "(rendered locally)")],
        ["Hotspot run", f"{ev.run['id']}, finished {ev.run['finished_at']:%Y-%m-%d %H:%M} UTC"],
        ["Data fingerprint", ev.run.get("fingerprint") or "not recorded"],
        ["Software", f"CivicPulse {version}"],
        ["Generated", f"{generated_at:%Y-%m-%d %H:%M:%S} UTC"],
        ["Parameters", Paragraph(escape(json.dumps(params, sort_keys=True)), st["cell"])],
        ["Files", Paragraph(escape(", ".join(files)), st["cell"])],
        ["Coordinates", "WGS84 (EPSG:4326); map drawn in a local equirectangular view"],
    ]
    table = Table(rows, colWidths=[1.3 * inch, 6.2 * inch])
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 7.2), ("FONT", (0, 0), (0, -1), BOLD, 7.2),
        ("LINEBELOW", (0, 0), (-1, -1), 0.3, _GRID), ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return table
