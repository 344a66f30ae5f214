"""Did it work? One intervention's difference-in-differences, with its honesty rules.

Steps: the windows (``pre_months`` before the start, default 12; the full months
since the end, at least ``MIN_POST_MONTHS``), the treated cells, the control
cells (:mod:`geo.evaluation.cells`), the monthly counts, the estimate and a
pre-trend check (:mod:`geo.evaluation.model`), a placebo with the start moved
one year back, the hotspot change and the cost per avoided report. Thin data
gives no number: ``effect_ratio`` is None and a caveat says why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, text

from geo.evaluation import cells, records
from geo.evaluation.model import Estimate, did_poisson, pre_trend

DEFAULT_PRE_MONTHS = 12
MIN_POST_MONTHS = 3
#: Fewer treated reports than this (before and after together) gives no number.
MIN_TREATED_REPORTS = 20
MIN_PRE_TREATED_REPORTS = 10
MIN_CONTROL_CELLS = 3
PLACEBO_YEARS = 1
ALPHA = 0.05
METHOD = (
    "difference-in-differences on monthly report counts: Poisson GLM (quasi-likelihood) with "
    "cell and month effects and a treated x after term; 95 % interval and p-value from "
    "cluster-robust (by cell) standard errors with Student-t on the smaller group's cells - 1 "
    "degrees of freedom (statsmodels); controls are nearest-neighbour matches on pre-period "
    "level and trend, not adjacent to the treated area"
)
REPORTING_CAVEAT = (
    "Reports measure what residents report, not the hazard itself: an intervention that "
    "raises awareness can increase reports."
)


def windows(start: dt.date, end: dt.date, pre_months: int, post_months: int | None,
            as_of: dt.date) -> tuple[cells.Window, int]:
    """Monthly edges before the start and after the end; also the full months available after.

    >>> w, avail = windows(dt.date(2026, 3, 1), dt.date(2026, 3, 31), 12, None,
    ...                    dt.date(2026, 8, 15))
    >>> w.pre[0], w.post[0], w.post[-1], avail
    (datetime.date(2025, 3, 1), datetime.date(2026, 4, 1), datetime.date(2026, 8, 1), 4)
    """
    after = end + dt.timedelta(days=1)
    available = 0
    while cells.add_months(after, available + 1) <= as_of:
        available += 1
    used = min(post_months, available) if post_months else available
    pre = [cells.add_months(start, k - pre_months) for k in range(pre_months + 1)]
    post = [cells.add_months(after, k) for k in range(used + 1)] if used else [after]
    return cells.Window(pre=pre, post=post), available


def _group(data: dict[int, np.ndarray], ids: list[int], n_pre: int) -> dict[str, Any]:
    pre = int(sum(int(data[c][:n_pre].sum()) for c in ids if c in data))
    post = int(sum(int(data[c][n_pre:].sum()) for c in ids if c in data))
    n_post = next(iter(data.values())).size - n_pre if data else 0
    return {
        "cells": len(ids), "pre_reports": pre, "post_reports": post,
        "pre_rate": round(pre / (len(ids) * n_pre), 4) if ids and n_pre else None,
        "post_rate": round(post / (len(ids) * n_post), 4) if ids and n_post else None,
    }


def _arrays(data: dict[int, np.ndarray], treated: list[int], controls: list[int], n: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    ids = [*treated, *controls]
    y = np.concatenate([data.get(c, np.zeros(n, dtype=np.int64)) for c in ids])
    cell = np.repeat(np.arange(len(ids)), n)
    period = np.tile(np.arange(n), len(ids))
    is_treated = np.repeat(np.arange(len(ids)) < len(treated), n)
    return y, cell, period, is_treated


def _estimate_dict(est: Estimate) -> dict[str, Any]:
    return {"effect_ratio": round(est.ratio, 4), "ci_low": round(est.ci_low, 4),
            "ci_high": round(est.ci_high, 4), "p_value": round(est.p_value, 4)}


def _hotspot_change(conn: Connection, intervention_id: int, start: dt.date, after: dt.date
                    ) -> dict[str, Any] | None:
    """Hot treated cells in the last run ending by the start and the last starting after the end."""
    sql = (
        "SELECT r.id, (SELECT count(*) FROM hotspot_cells c, interventions i WHERE c.run_id = r.id "
        "AND i.id = :id AND c.gi_bin > 0 AND ST_Contains(i.geom, ST_Centroid(c.geom))) AS hot "
        "FROM hotspot_runs r WHERE r.status = 'succeeded' AND {cond} "
        "ORDER BY r.finished_at DESC LIMIT 1"
    )
    until = "CAST(coalesce(r.counts->>'until', r.params->>'until') AS date)"
    since = "CAST(coalesce(r.counts->>'since', r.params->>'since') AS date)"
    before = conn.execute(text(sql.format(cond=f"{until} <= :start")),
                          {"id": intervention_id, "start": start}).first()
    later = conn.execute(text(sql.format(cond=f"{since} >= :after")),
                         {"id": intervention_id, "after": after}).first()
    if before is None or later is None:
        return None
    return {"hot_cells_before": int(before.hot), "hot_cells_after": int(later.hot),
            "run_before": int(before.id), "run_after": int(later.id)}


def privacy_applies(conn: Connection, services: list[str]) -> bool:
    """Whether any of ``services`` is shown to the public only in aggregate (geo.privacy)."""
    return bool(conn.execute(
        text("SELECT EXISTS (SELECT 1 FROM services WHERE code = ANY(:s) "
             "AND privacy <> 'public')"), {"s": services}).scalar())


def evaluate(conn: Connection, intervention_id: int, *, resolution: int = 9,
             as_of: dt.date | None = None) -> dict[str, Any]:
    """The evaluation of one intervention as a JSON-ready dict (see EvaluationOut).

    Example, on a database connection (not run as a doctest)::

        evaluate(conn, 3, resolution=9)["effect_ratio"]
        0.52
    """
    iv = conn.execute(
        text("SELECT name, services, start_date, end_date, cost, pre_months, post_months "
             "FROM interventions WHERE id = :id"), {"id": intervention_id}).one()
    as_of = as_of or dt.datetime.now(dt.UTC).date()
    services = list(iv.services)
    caveats: list[str] = [REPORTING_CAVEAT, f"Services counted: {', '.join(services)}."]
    window, available = windows(iv.start_date, iv.end_date, iv.pre_months or DEFAULT_PRE_MONTHS,
                                iv.post_months, as_of)
    n_pre, n_post = len(window.pre) - 1, len(window.post) - 1
    treated = cells.treated_cells(conn, intervention_id, resolution)
    out: dict[str, Any] = {
        "effect_ratio": None, "ci_low": None, "ci_high": None, "p_value": None,
        "significant": None, "method": METHOD, "services": services,
        "treated_cells": len(treated), "control_cells": 0, "groups": None,
        "windows": {"pre_since": window.pre[0].isoformat(), "pre_until": window.pre[-1].isoformat(),
                    "post_since": window.post[0].isoformat(),
                    "post_until": window.post[-1].isoformat(), "pre_months": n_pre,
                    "post_months": n_post, "resolution": resolution, "as_of": as_of.isoformat()},
        "pre_trend": None, "placebo": None, "hotspot_change": None,
        "cost_per_avoided_report": None, "overlapping_interventions": [], "caveats": caveats,
        "privacy_applies": privacy_applies(conn, services),
    }
    others = cells.other_intervention_cells(conn, intervention_id, services, window.lo,
                                            window.hi, resolution)
    overlapping = [{"id": o["id"], "name": o["name"]} for o in others if o["overlaps"]]
    out["overlapping_interventions"] = overlapping
    if overlapping:
        names = "; ".join(f"{o['name']} (#{o['id']})" for o in overlapping)
        caveats.append(f"Other interventions for these services overlap this area in the "
                       f"window, so their effects are mixed in: {names}.")
    if n_post < MIN_POST_MONTHS:
        caveats.append(f"Only {available} full month(s) have passed since the end; at least "
                       f"{MIN_POST_MONTHS} are needed, so there is no estimate yet.")
        return out
    data = cells.panel(conn, services, window, resolution)
    excluded = cells.buffer_cells(treated)
    for other in others:
        excluded.update(other["cells"])
    candidates = {c: v for c, v in data.items() if c not in excluded}
    city, inside = cells.boundary_cells(conn, "city", treated, list(candidates))
    if city:  # another city's cells are no comparison, however similar their counts
        candidates = {c: candidates[c] for c in inside}
    district, inside = cells.boundary_cells(conn, "district", treated, list(candidates))
    if district and len(inside) >= cells.DISTRICT_POOL_PER_TREATED * len(treated):
        candidates = {c: candidates[c] for c in inside}
        out["windows"]["control_district"] = district
    elif district:
        caveats.append(f"{district} has too few comparable cells, so controls come from the "
                       "whole city.")
    zeros = np.zeros(n_pre + n_post, dtype=np.int64)
    controls = cells.match({t: data.get(t, zeros)[:n_pre] for t in treated},
                           {c: v[:n_pre] for c, v in candidates.items()})
    out["control_cells"] = len(controls)
    out["groups"] = {"treated": _group(data, treated, n_pre),
                     "control": _group(data, controls, n_pre)}
    t, c = out["groups"]["treated"], out["groups"]["control"]
    if out["privacy_applies"]:
        # Non-staff callers see the counts only when each has 3+ reporters (geo.evaluation.public).
        found = cells.reporters(conn, services, window, resolution,
                                {"treated": treated, "control": controls})
        for name, group in out["groups"].items():
            group["pre_reporters"] = found[name]["pre"]
            group["post_reporters"] = found[name]["post"]
    if len(controls) < MIN_CONTROL_CELLS or c["pre_reports"] == 0 or c["post_reports"] == 0:
        caveats.append(f"Only {len(controls)} eligible control cell(s) with reports of these "
                       "services (not treated, not next to the area, not in another "
                       "intervention), so there is nothing to compare with and no estimate.")
        return out
    if t["pre_reports"] + t["post_reports"] < MIN_TREATED_REPORTS or \
            t["pre_reports"] < MIN_PRE_TREATED_REPORTS:
        counts = ("too few reports" if out["privacy_applies"] else
                  f"only {t['pre_reports']} report(s) before and {t['post_reports']} after")
        caveats.append(f"The treated area has {counts}; at least {MIN_PRE_TREATED_REPORTS} "
                       f"before and {MIN_TREATED_REPORTS} in all are needed for an estimate.")
        return out
    y, cell, period, is_treated = _arrays(data, treated, controls, n_pre + n_post)
    est = did_poisson(y, cell, period, is_treated, period >= n_pre)
    out.update(_estimate_dict(est))
    out["significant"] = bool(est.ci_high < 1 or est.ci_low > 1)
    trend = pre_trend(y[period < n_pre], cell[period < n_pre], period[period < n_pre],
                      is_treated[period < n_pre])
    out["pre_trend"] = {"monthly_ratio": round(trend.ratio, 4), "p_value": round(trend.p_value, 4),
                        "parallel": bool(trend.p_value >= ALPHA)}
    if trend.p_value < ALPHA:
        caveats.append("Before the start, treated cells already trended differently from the "
                       f"controls (p = {trend.p_value:.3f}); the estimate may be biased.")
    out["placebo"] = _placebo(conn, services, treated, controls, iv.start_date, n_pre, n_post,
                              resolution)
    if out["placebo"] and out["placebo"]["ci_low"] is not None and (
            out["placebo"]["ci_low"] > 1 or out["placebo"]["ci_high"] < 1):
        caveats.append("The placebo (the same method with the start one year earlier) finds an "
                       "effect where there was none, so this design may be biased here.")
    if len(treated) < 10:
        caveats.append(f"The area covers only {len(treated)} cell(s); the interval allows "
                       "for so few treated cells and is wide.")
    if not out["significant"]:
        caveats.append("The interval includes 1: no detectable effect, which is not the same "
                       "as no effect.")
    elif est.ratio > 1:
        caveats.append("Reports rose relative to the controls.")
    elif iv.cost is not None and t["post_reports"] > 0:
        avoided = t["post_reports"] / est.ratio - t["post_reports"]
        out["cost_per_avoided_report"] = round(float(iv.cost) / avoided, 2)
    out["hotspot_change"] = _hotspot_change(conn, intervention_id, iv.start_date,
                                            window.post[0])
    if out["hotspot_change"] is None:
        caveats.append("No hotspot run covers only the time before the start and another only "
                       "the time after the end, so the change in hot cells is not shown.")
    return out


def _placebo(conn: Connection, services: list[str], treated: list[int], controls: list[int],
             start: dt.date, n_pre: int, n_post: int, resolution: int) -> dict[str, Any] | None:
    """The same estimate with the start moved a year back, entirely before the real start."""
    fake = cells.add_months(start, -12 * PLACEBO_YEARS)
    months = min(n_post, 12 * PLACEBO_YEARS)
    window = cells.Window(pre=[cells.add_months(fake, k - n_pre) for k in range(n_pre + 1)],
                          post=[cells.add_months(fake, k) for k in range(months + 1)])
    data = cells.panel(conn, services, window, resolution)
    t_pre = sum(int(data[c][:n_pre].sum()) for c in treated if c in data)
    t_post = sum(int(data[c][n_pre:].sum()) for c in treated if c in data)
    if t_pre < MIN_PRE_TREATED_REPORTS or t_post == 0:
        return {"start_date": fake.isoformat(), "effect_ratio": None, "ci_low": None,
                "ci_high": None, "p_value": None, "note": "too few reports a year earlier"}
    y, cell, period, is_treated = _arrays(data, treated, controls, n_pre + months)
    est = did_poisson(y, cell, period, is_treated, period >= n_pre)
    return {"start_date": fake.isoformat(), **_estimate_dict(est)}


def run(engine: Engine, intervention_id: int, version: int, *, resolution: int = 9,
        progress: Callable[[int], None] | None = None) -> str:
    """Claim, compute and publish one evaluation; returns its final status.

    Safe to run twice: a succeeded evaluation of this version is left alone, a
    stale version (the intervention changed since) is skipped, anything else is
    computed again. Failures are recorded and re-raised.
    """
    with engine.begin() as conn:
        params = records.claim(conn, intervention_id, version)
    if params is None:
        return "skipped"
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                as_of = dt.date.fromisoformat(params["as_of"]) if params.get("as_of") else None
                result = evaluate(conn, intervention_id, resolution=resolution, as_of=as_of)
        if progress is not None:
            progress(90)
        with engine.begin() as conn:
            done = records.succeed(conn, intervention_id, version, result)
    except Exception as exc:
        with engine.begin() as conn:
            records.fail(conn, intervention_id, version, f"{type(exc).__name__}: {exc}")
        raise
    return "succeeded" if done else "skipped"
