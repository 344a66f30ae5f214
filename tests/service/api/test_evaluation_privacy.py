"""Attacker test: an evaluation must not give a grant writer a count of one household's reports.

Lead paint is shown to the public only in cells with 3+ distinct reporters
(geo.privacy). Here every lead report in an intervention's area comes from one
household (one device), the controls from many. Planners see the counts; a grant
writer, through the API and through an evidence pack, sees the effect but neither
the counts, their rates, the reporter counts nor the cost per avoided report (which
with the cost would give the count back).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from geo.evaluation import evaluate, interventions
from geo.evidence import effects
from geo.h3cells import parent_sql
from tests.geo.evaluation import city as synthetic

URL = "/api/v1/interventions"


@pytest.fixture(scope="module")
def one_household(app, engine):
    c = synthetic.build(engine, name="household", centre=(40.4, -101.0), effect=0.5, seed=21,
                        privacy="aggregated")
    with engine.begin() as conn:
        conn.execute(text(
            "UPDATE reports r SET device_hash = '\\x0badd0'::bytea WHERE r.service_code = :s "
            f"AND {parent_sql('r.h3_cell', synthetic.RES)} = ANY(:cells)"),
            {"s": c.service, "cells": c.treated})
        iid = interventions.create(conn, {
            "name": "Lead abatement, one street", "services": [c.service],
            "geometry": c.footprint, "start_date": synthetic.START.isoformat(),
            "end_date": synthetic.END.isoformat(), "cost": 80_000})
        version = conn.execute(text("SELECT version FROM interventions WHERE id = :i"),
                               {"i": iid}).scalar_one()
        conn.execute(text("UPDATE intervention_evaluations SET params = :p "
                          "WHERE intervention_id = :i"),
                     {"p": json.dumps({"as_of": synthetic.AS_OF.isoformat()}), "i": iid})
    assert evaluate.run(engine, iid, version, resolution=synthetic.RES) == "succeeded"
    return c, iid


def test_planners_see_the_counts_and_their_reporters(client, api_keys, one_household):
    _, iid = one_household
    out = client.get(f"{URL}/{iid}/evaluation", headers=api_keys.headers("planner")).get_json()
    treated = out["groups"]["treated"]
    assert out["effect_ratio"] is not None and out["privacy_applies"] is True
    assert treated["pre_reports"] > 20 and treated["pre_reporters"] == 1
    assert out["cost_per_avoided_report"] is not None


def test_a_grant_writer_sees_the_effect_but_no_count_of_one_household(client, api_keys,
                                                                      one_household):
    _, iid = one_household
    resp = client.get(f"{URL}/{iid}/evaluation", headers=api_keys.headers("grant_writer"))
    out = resp.get_json()
    assert resp.status_code == 200 and out["effect_ratio"] is not None
    assert out["counts_withheld"] is True and out["cost_per_avoided_report"] is None
    for group in out["groups"].values():
        assert {group[k] for k in ("pre_reports", "post_reports", "pre_rate",
                                   "post_rate")} == {None}
        assert "pre_reporters" not in group and "post_reporters" not in group
    assert any("withheld" in c for c in out["caveats"])
    assert "reporters" not in resp.get_data(as_text=True)


@pytest.mark.parametrize("role", ["app", None])
def test_residents_and_anonymous_callers_get_nothing(client, api_keys, one_household, role):
    _, iid = one_household
    resp = client.get(f"{URL}/{iid}/evaluation", headers=api_keys.headers(role))
    assert resp.status_code in (401, 403)
    assert "groups" not in (resp.get_json() or {})


def test_an_evidence_pack_shows_the_evaluation_as_a_grant_writer_sees_it(engine, one_household):
    c, iid = one_household
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE ev_area ON COMMIT DROP AS "
                          "SELECT geom FROM boundaries WHERE id = :b"), {"b": c.city_id})
        rows = [effects.csv_row(item) for item in effects.load(conn, [c.service])]
    row = next(r for r in rows if r["intervention_id"] == iid)
    assert row["effect_ratio"] is not None
    assert row["treated_pre_rate"] is None and row["control_post_rate"] is None
    assert row["cost_per_avoided_report"] is None


def test_where_three_people_reported_the_counts_are_shown(client, api_keys, engine):
    c = synthetic.build(engine, name="crowd", centre=(40.7, -101.0), effect=0.5, seed=22,
                        privacy="aggregated")
    with engine.begin() as conn:
        iid = interventions.create(conn, {
            "name": "Lead abatement, many homes", "services": [c.service],
            "geometry": c.footprint, "start_date": synthetic.START.isoformat(),
            "end_date": synthetic.END.isoformat()})
        result = evaluate.evaluate(conn, iid, resolution=synthetic.RES, as_of=synthetic.AS_OF)
    from geo.evaluation.public import public_result

    shown = public_result(result)
    assert shown["counts_withheld"] is False
    assert shown["groups"]["treated"]["pre_reports"] == result["groups"]["treated"]["pre_reports"]
