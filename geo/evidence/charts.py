"""The pack's pictures, drawn offline with matplotlib (Agg, no pyplot state).

The map shows H3 cells coloured by ``gi_bin`` and district outlines, never a
report's point. Coordinates are WGS84 degrees drawn with the x axis shrunk by
cos(latitude) — a local equirectangular view, fine at city scale; the scale bar
uses the same factor, so it is right at the map's centre latitude.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h3
import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: never a GUI backend in a worker

from matplotlib import patheffects  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

#: Diverging colours by gi_bin (ColorBrewer RdBu): hot red, cold blue, white between.
BIN_COLOURS = {
    3: "#b2182b", 2: "#ef8a62", 1: "#fddbc7", 0: "#eeeeee",
    -1: "#d1e5f0", -2: "#67a9cf", -3: "#2166ac",
}
NO_DATA_COLOUR = "#bdbdbd"
BIN_LABELS = {
    3: "Hot spot, 99 % confidence", 2: "Hot spot, 95 %", 1: "Hot spot, 90 %",
    0: "Not significant", -1: "Cold spot, 90 %", -2: "Cold spot, 95 %",
    -3: "Cold spot, 99 % confidence",
}
#: 200 dpi prints sharply at page width; no "Software" chunk keeps PNG bytes version-free.
_DPI = 200
_META: dict[str, Any] = {"Software": None}


def _rings(geometry: dict[str, Any]) -> list[list[tuple[float, float]]]:
    polys = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return [[(x, y) for x, y, *_ in ring] for poly in polys for ring in poly]


def _nice_km(span_km: float) -> float:
    """A round scale-bar length near a fifth of the map's width."""
    target = span_km / 5
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100):
        if step >= target:
            return step
    return 100.0


def hotspot_map(
    cells: Sequence[dict[str, Any]],
    area: dict[str, Any],
    districts: Sequence[tuple[str, dict[str, Any]]],
    path: Path,
    *,
    width_in: float = 7.5,
    height_in: float = 6.5,
) -> Path:
    """Draw cells by ``gi_bin`` (grey for no data) with district and area outlines.

    ``cells`` need ``h3`` (string id), ``gi_bin`` and ``no_data``.
    """
    fig = Figure(figsize=(width_in, height_in))
    ax = fig.add_axes((0.0, 0.13, 1.0, 0.87))
    area_rings = _rings(area)
    polys, colours = [], []
    for cell in cells:
        boundary = h3.cell_to_boundary(cell["h3"])
        polys.append([(lng, lat) for lat, lng in boundary])
        colours.append(NO_DATA_COLOUR if cell["no_data"] else BIN_COLOURS[int(cell["gi_bin"])])
    # The view holds the area and every whole cell (a cell counts when its centre is inside).
    xs = [x for ring in area_rings + polys for x, _ in ring]
    ys = [y for ring in area_rings + polys for _, y in ring]
    lat0 = (min(ys) + max(ys)) / 2
    # Edges help when cells are few enough to tell apart; with thousands they only darken.
    edge = 0.15 if len(polys) <= 3000 else 0.0
    ax.add_collection(
        PolyCollection(polys, facecolors=colours, edgecolors="#ffffff", linewidths=edge)
    )
    lines = [ring for _, g in districts for ring in _rings(g)]
    ax.add_collection(LineCollection(lines, colors="#404040", linewidths=0.6))
    ax.add_collection(LineCollection(area_rings, colors="#000000", linewidths=1.3))
    for name, g in districts[:30]:
        ring = max(_rings(g), key=len)
        cx = sum(x for x, _ in ring) / len(ring)
        cy = sum(y for _, y in ring) / len(ring)
        if min(xs) < cx < max(xs) and min(ys) < cy < max(ys):
            ax.text(cx, cy, name, fontsize=7, ha="center", va="center", color="#202020",
                    path_effects=[patheffects.withStroke(linewidth=2.2, foreground="white")])
    pad_x, pad_y = (max(xs) - min(xs)) * 0.02, (max(ys) - min(ys)) * 0.02
    ax.set_xlim(min(xs) - pad_x, max(xs) + pad_x)
    # Room under the map for the scale bar, clear of cells and outlines.
    ax.set_ylim(min(ys) - 5 * pad_y, max(ys) + pad_y)
    ax.set_aspect(1 / math.cos(math.radians(lat0)))
    ax.set_axis_off()
    _scale_bar(ax, lat0)
    # North arrow beside the scale bar, in the strip kept free under the map.
    ax.annotate("", xy=(0.985, 0.075), xytext=(0.985, 0.005), xycoords="axes fraction",
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.2})
    ax.text(0.97, 0.03, "N", transform=ax.transAxes, ha="right", va="center", fontsize=9,
            fontweight="bold")
    handles = [Patch(facecolor=BIN_COLOURS[b], edgecolor="#999999", linewidth=0.4,
                     label=BIN_LABELS[b]) for b in range(3, -4, -1)]
    handles.append(Patch(facecolor=NO_DATA_COLOUR, edgecolor="#999999", linewidth=0.4,
                         label="No data (no reports nearby)"))
    handles.append(Patch(facecolor="none", edgecolor="#404040", label="District boundary"))
    handles.append(Patch(facecolor="none", edgecolor="#000000", linewidth=1.3,
                         label="Area of this pack"))
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.0), fontsize=7,
               ncols=4, frameon=False, title="Getis-Ord Gi* hot and cold spots (FDR-corrected)",
               title_fontsize=7.5)
    fig.savefig(path, dpi=_DPI, metadata=_META)
    return path


def _scale_bar(ax: Any, lat0: float) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    km_per_deg = 111.32 * math.cos(math.radians(lat0))
    length_km = _nice_km((x1 - x0) * km_per_deg)
    length_deg = length_km / km_per_deg
    bx, by = x0 + (x1 - x0) * 0.02, y0 + (y1 - y0) * 0.025
    ax.plot([bx, bx + length_deg], [by, by], color="black", linewidth=2.0, solid_capstyle="butt")
    label = f"{length_km:g} km" if length_km >= 1 else f"{length_km * 1000:g} m"
    ax.text(bx + length_deg / 2, by + (y1 - y0) * 0.015, label, ha="center", va="bottom",
            fontsize=7)


def trend_chart(
    monthly: Sequence[dict[str, Any]],
    services: Sequence[dict[str, Any]],
    months: Sequence[dt.date],
    path: Path,
    *,
    full: Sequence[bool] | None = None,
    width_in: float = 7.3,
) -> Path:
    """One panel per service: reports per month (bars) and problems after merging repeats.

    ``full`` flags whole months; partial ones (the period's edges) are hatched, so a
    short month does not read as a drop.
    """
    n = max(1, len(services))
    cols = 1 if n == 1 else 2
    rows = math.ceil(n / cols)
    full = list(full) if full is not None else [True] * len(months)
    fig = Figure(figsize=(width_in, 1.9 * rows + 0.5))
    axes = fig.subplots(rows, cols, squeeze=False)
    labels = [m.strftime("%b\n%Y") if m.month == 1 or i == 0 else m.strftime("%b")
              for i, m in enumerate(months)]
    step = max(1, math.ceil(len(months) / 12))
    for k, service in enumerate(services):
        ax = axes[k // cols][k % cols]
        rows_s = [r for r in monthly if r["service_code"] == service["code"]]
        x = list(range(len(rows_s)))
        ax.bar(x, [r["reports"] for r in rows_s], width=0.8, label="Reports",
               color=["#9ecae1" if f else "#ffffff" for f in full], edgecolor="#6baed6",
               hatch=["" if f else "////" for f in full], linewidth=0.5)
        ax.plot(x, [r["incidents"] for r in rows_s], color="#08519c", linewidth=1.4,
                marker="o", markersize=2.5, label="After merging repeats")
        ax.set_title(service["name"], fontsize=8.5, loc="left")
        ax.set_xticks(x[::step], labels[::step], fontsize=6.5)
        ax.tick_params(axis="y", labelsize=6.5)
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_ylim(bottom=0)
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].set_axis_off()
    handles = [Patch(facecolor="#9ecae1", edgecolor="#6baed6", label="Reports"),
               Line2D([], [], color="#08519c", marker="o", markersize=2.5,
                      label="After merging repeats")]
    if not all(full):
        handles.append(Patch(facecolor="white", edgecolor="#6baed6", hatch="////",
                             label="Partial month (edge of the period)"))
    fig.legend(handles=handles, loc="upper center", ncols=len(handles), fontsize=7,
               frameon=False)
    fig.tight_layout(pad=0.6, rect=(0, 0, 1, 1 - 0.3 / (1.9 * rows + 0.5)))
    fig.savefig(path, dpi=_DPI, metadata=_META)
    return path
