""""Did it work?": the effect of past interventions in the pack's area.

For every intervention whose footprint meets the pack's area and which targeted
one of its services, the pack shows its latest succeeded evaluation
(:mod:`geo.evaluation`): the effect ratio, its 95 % interval, the cost per
avoided report where the effect is significant, the caveats, and a chart of
report rates before and after in the treated cells against their controls.
Interventions not evaluated yet are listed with their status and no numbers.

Reads ``ev_area``, the temporary table :func:`geo.evidence.query.load` creates,
so it runs in the same transaction after it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from geo.evaluation.evaluate import REPORTING_CAVEAT
from geo.evaluation.public import public_result

COLUMNS = {
    "intervention_id": "intervention id (GET /api/v1/interventions/{id})",
    "name": "intervention name",
    "programme": "programme it belongs to",
    "start_date": "first day of the intervention",
    "end_date": "last day of the intervention",
    "cost": "dollars spent (empty = not recorded)",
    "evaluation_status": "queued, running, succeeded or failed",
    "effect_ratio": "after/before change in treated cells relative to controls (0.5 = halved)",
    "ci_low": "lower end of the 95 % interval of effect_ratio",
    "ci_high": "upper end of the 95 % interval of effect_ratio",
    "p_value": "two-sided p-value of no effect",
    "significant": "true when the 95 % interval excludes 1",
    "treated_cells": "H3 cells the intervention covers",
    "control_cells": "matched comparison cells",
    "treated_pre_rate": "reports per treated cell per month before",
    "treated_post_rate": "reports per treated cell per month after",
    "control_pre_rate": "reports per control cell per month before",
    "control_post_rate": "reports per control cell per month after",
    "cost_per_avoided_report": "cost / reports avoided, only where significant",
    "caveats": "plain sentences, separated by ' | '",
}


def load(conn: Connection, services: list[str]) -> list[dict[str, Any]]:
    """Interventions in ``ev_area`` for any of ``services``, with their evaluation, by start."""
    rows = conn.execute(
        text(
            "SELECT i.id, i.name, i.programme, i.start_date, i.end_date, i.cost, "
            "e.status, e.result FROM interventions i "
            "LEFT JOIN intervention_evaluations e ON e.intervention_id = i.id "
            "WHERE i.services && CAST(:services AS varchar[]) "
            "AND EXISTS (SELECT 1 FROM ev_area a WHERE ST_Intersects(a.geom, i.geom)) "
            "ORDER BY i.start_date, i.id"
        ),
        {"services": services},
    )
    # A pack is read by grant writers and funders: the evaluation as non-staff see it.
    return [{**r._mapping, "result": public_result(r.result) if r.result else r.result}
            for r in rows]


def _rate(result: dict[str, Any], group: str, key: str) -> float | None:
    return ((result.get("groups") or {}).get(group) or {}).get(key)


def csv_row(item: dict[str, Any]) -> dict[str, Any]:
    """One intervention as a row of ``intervention_effects.csv``."""
    result = item["result"] if item["status"] == "succeeded" and item["result"] else {}
    return {
        "intervention_id": item["id"], "name": item["name"], "programme": item["programme"],
        "start_date": item["start_date"].isoformat(), "end_date": item["end_date"].isoformat(),
        "cost": float(item["cost"]) if item["cost"] is not None else None,
        "evaluation_status": item["status"],
        **{k: result.get(k) for k in ("effect_ratio", "ci_low", "ci_high", "p_value",
                                      "significant", "treated_cells", "control_cells")},
        "treated_pre_rate": _rate(result, "treated", "pre_rate"),
        "treated_post_rate": _rate(result, "treated", "post_rate"),
        "control_pre_rate": _rate(result, "control", "pre_rate"),
        "control_post_rate": _rate(result, "control", "post_rate"),
        "cost_per_avoided_report": result.get("cost_per_avoided_report"),
        "caveats": " | ".join(result.get("caveats") or []),
    }


def specific_caveats(result: dict[str, Any]) -> list[str]:
    """The caveats particular to one evaluation (the general ones are said once)."""
    return [c for c in result.get("caveats") or []
            if c != REPORTING_CAVEAT and not c.startswith("Services counted")]


def chart(rows: list[dict[str, Any]], path: Path) -> Path | None:
    """Before/after report rates of treated cells against controls, one pair per intervention."""
    done = [r for r in rows if r["treated_pre_rate"] is not None
            and r["control_pre_rate"] is not None]
    if not done:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(done), figsize=(min(2.6 * len(done), 7.5), 2.6),
                             squeeze=False, sharey=True)
    for ax, r in zip(axes[0], done, strict=True):
        ax.plot([0, 1], [r["treated_pre_rate"], r["treated_post_rate"] or 0], "o-",
                color="#c0392b", label="treated")
        ax.plot([0, 1], [r["control_pre_rate"], r["control_post_rate"] or 0], "s--",
                color="#7f8c8d", label="controls")
        ax.set_xticks([0, 1], ["before", "after"])
        ax.set_title(r["name"][:28], fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0][0].set_ylabel("reports per cell per month", fontsize=7)
    axes[0][0].legend(fontsize=6, frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150, metadata={"Software": None})
    plt.close(fig)
    return path
