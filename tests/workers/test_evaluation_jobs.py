"""The evaluation job through the outbox, the relay and a real RQ worker on ``analysis``."""

from __future__ import annotations

from rq import Queue, Worker

from geo.evaluation import evaluate, interventions, records
from tests.geo.evaluation import city as synthetic
from workers.relay import relay_once


def test_an_intervention_is_evaluated_by_the_worker(app, engine, rq_redis, empty_outbox,
                                                    job_context):
    c = synthetic.build(engine, name="worker", centre=(42.2, -100.0), effect=0.5, seed=21,
                        rings=6)
    with engine.begin() as conn:
        iid = interventions.create(conn, {
            "name": "Worker drains", "services": [c.service], "geometry": c.footprint,
            "start_date": synthetic.START.isoformat(), "end_date": synthetic.END.isoformat()})
        # The job evaluates as of a fixed day, so the windows are the city's.
        records.queue(conn, iid, {"as_of": synthetic.AS_OF.isoformat()})
    # Two outbox rows (create, then the re-queue): both run, the second finds it done.
    assert relay_once(engine, rq_redis) == 2
    Worker([Queue("analysis", connection=rq_redis)], connection=rq_redis).work(burst=True)
    with engine.connect() as conn:
        record = records.get(conn, iid)
    assert record is not None and record["status"] == "succeeded", record
    assert record["progress"] == 100
    result = record["result"]
    assert result["ci_low"] <= 0.5 <= result["ci_high"] < 1
    assert result["windows"]["as_of"] == synthetic.AS_OF.isoformat()


def test_a_stale_version_is_skipped(app, engine, job_context):
    c = synthetic.build(engine, name="stale", centre=(42.5, -100.0), seed=22, rings=3)
    with engine.begin() as conn:
        iid = interventions.create(conn, {
            "name": "Stale", "services": [c.service], "geometry": c.footprint,
            "start_date": "2025-01-01", "end_date": "2025-01-01"})
        interventions.update(conn, iid, {"notes": "changed"})
    assert evaluate.run(engine, iid, 1) == "skipped"
    with engine.connect() as conn:
        assert records.get(conn, iid)["status"] == "queued"
    assert evaluate.run(engine, iid, 2) == "succeeded"
    assert evaluate.run(engine, iid, 2) == "skipped"  # delivered twice: done once
    with engine.connect() as conn:
        assert records.get(conn, iid)["version"] == 2
