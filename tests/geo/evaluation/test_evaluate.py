"""Evaluations on synthetic cities where the true effect is known, against PostGIS."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from geo.evaluation import interventions
from geo.evaluation.cells import ANALYSIS_TIME_SQL
from geo.evaluation.evaluate import evaluate
from geo.h3cells import parent_sql
from tests.geo.evaluation import city as synthetic


def _intervention(engine, c: synthetic.City, **extra) -> int:
    with engine.begin() as conn:
        return interventions.create(conn, {
            "name": f"Drain clearing {c.service}", "services": [c.service],
            "geometry": c.footprint, "start_date": synthetic.START.isoformat(),
            "end_date": synthetic.END.isoformat(), "cost": 50_000, **extra})


def _evaluate(engine, iid: int) -> dict:
    with engine.connect() as conn:
        return evaluate(conn, iid, resolution=synthetic.RES, as_of=synthetic.AS_OF)


@pytest.fixture(scope="module")
def halved(app, engine):
    c = synthetic.build(engine, name="halved", centre=(41.0, -100.0), effect=0.5, seed=11)
    iid = _intervention(engine, c)
    return c, iid, _evaluate(engine, iid)


@pytest.fixture(scope="module")
def unchanged(app, engine):
    c = synthetic.build(engine, name="unchanged", centre=(41.3, -100.0), effect=1.0, seed=12)
    iid = _intervention(engine, c)
    return c, iid, _evaluate(engine, iid)


def test_a_planted_halving_is_recovered_within_its_interval(halved):
    _, _, out = halved
    assert out["ci_low"] <= 0.5 <= out["ci_high"] < 1, out
    assert out["significant"] is True and out["p_value"] < 0.05
    assert out["treated_cells"] == 19 and out["control_cells"] >= 3 * 19 - 5
    assert out["pre_trend"]["parallel"] is True
    assert out["placebo"]["ci_low"] <= 1 <= out["placebo"]["ci_high"]


def test_cost_per_avoided_report_is_cost_over_expected_minus_observed(halved):
    _, _, out = halved
    post = out["groups"]["treated"]["post_reports"]
    avoided = post / out["effect_ratio"] - post
    assert out["cost_per_avoided_report"] == pytest.approx(50_000 / avoided, rel=1e-3)


def test_group_counts_match_sql(engine, halved):
    c, _, out = halved
    w = out["windows"]
    with engine.connect() as conn:
        pre, post = conn.execute(text(
            f"SELECT count(*) FILTER (WHERE t >= :a AND t < :b), "
            f"count(*) FILTER (WHERE t >= :c AND t < :d) FROM ("
            f"SELECT {ANALYSIS_TIME_SQL} AS t FROM reports r WHERE r.service_code = :s AND "
            f"{parent_sql('r.h3_cell', synthetic.RES)} = ANY(:cells)) x"),
            {"a": w["pre_since"], "b": w["pre_until"], "c": w["post_since"],
             "d": w["post_until"], "s": c.service, "cells": c.treated}).one()
    assert out["groups"]["treated"]["pre_reports"] == pre
    assert out["groups"]["treated"]["post_reports"] == post
    assert out["groups"]["treated"]["pre_rate"] == pytest.approx(pre / (19 * 12), abs=1e-4)


def test_no_effect_gives_an_interval_covering_one_and_no_cost(unchanged):
    _, _, out = unchanged
    assert out["ci_low"] <= 1 <= out["ci_high"], out
    assert out["significant"] is False and out["cost_per_avoided_report"] is None
    assert any("includes 1" in c for c in out["caveats"])


def test_caveats_say_what_reports_measure_and_which_services(unchanged):
    c, _, out = unchanged
    assert any("not the hazard" in s for s in out["caveats"])
    assert any(c.service in s for s in out["caveats"])
    assert "Poisson" in out["method"] and "cluster-robust" in out["method"]


def test_a_handful_of_reports_gives_no_number(app, engine):
    c = synthetic.build(engine, name="handful", centre=(41.6, -100.0), mean=0.01, seed=13)
    out = _evaluate(engine, _intervention(engine, c))
    assert out["effect_ratio"] is None and out["ci_low"] is None
    assert any("at least" in s and "needed" in s for s in out["caveats"]), out["caveats"]


def test_no_eligible_controls_is_a_clear_caveat(app, engine):
    c = synthetic.build(engine, name="alone", centre=(41.9, -100.0), report_cells="treated",
                        seed=14)
    out = _evaluate(engine, _intervention(engine, c))
    assert out["effect_ratio"] is None and out["control_cells"] == 0
    assert any("control cell" in s for s in out["caveats"]), out["caveats"]


def test_too_short_a_post_window_gives_no_number(engine, unchanged):
    c, iid, _ = unchanged
    with engine.connect() as conn:
        out = evaluate(conn, iid, resolution=synthetic.RES, as_of=synthetic.dt.date(2025, 3, 15))
    assert out["effect_ratio"] is None
    assert any("full month" in s for s in out["caveats"])


def test_overlapping_interventions_are_named(engine, unchanged):
    c, iid, _ = unchanged
    other = _intervention(engine, c, name="Kerb repairs nearby")
    try:
        out = _evaluate(engine, iid)
        assert {"id": other, "name": "Kerb repairs nearby"} in out["overlapping_interventions"]
        assert any("Kerb repairs nearby" in s for s in out["caveats"])
    finally:
        with engine.begin() as conn:
            interventions.delete(conn, other)
