"""The demo's showcase evidence pack: lead paint and flooding in Old Harbor, costed.

A demo should show the product at its best: a pack with hot spots, ranked priority
areas, a costed budget and "did it work?" for the two drain-clearing programmes on
the Old Harbor shore (:mod:`geo.demo.interventions`). ``make demo`` sets
:data:`UNIT_COSTS` as the server's ``CIVICPULSE_UNIT_COSTS``, queues the run the
pack reads and prints the ids that the README tour's export request names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, text

from geo.hotspots.params import RunParams
from geo.hotspots.runs import create_run

#: Dollars per problem addressed, by service: rough city figures (a home's lead
#: hazard control is about $12,000 in HUD's grant programmes; a pothole patch $150).
UNIT_COSTS: dict[str, float] = {
    "lead_paint": 12_000, "flooding": 2_500, "blocked_drain": 400, "illegal_dumping": 600,
    "pothole": 150, "streetlight_out": 300,
}
#: The district of the old harbour housing, where the demo's lead paint clusters and
#: the drain-clearing programmes worked (or not) on the shore.
DISTRICT = "Old Harbor"
SERVICES = ("lead_paint", "flooding")
BUDGET = 750_000
#: A lead-paint and flooding run with a monthly trend: the one the pack is cut from.
RUN = RunParams.from_dict({"services": list(SERVICES), "time_step": "month", "rings": "auto"})


@dataclass(frozen=True)
class Showcase:
    """The ids the showcase pack's request names."""

    boundary_id: int
    run_id: int

    def request(self) -> dict[str, object]:
        """The body of ``POST /api/v1/exports`` for the pack (its period is the run's).

        >>> Showcase(boundary_id=2, run_id=3).request()["services"]
        ['lead_paint', 'flooding']
        """
        return {"area": {"boundary_id": self.boundary_id}, "services": list(SERVICES),
                "run": self.run_id, "budget": BUDGET}


def ensure_showcase(conn: Connection) -> Showcase | None:
    """The showcase's district and run, queueing the run if none is queued, running or done.

    None when the demo city is not loaded (no district of that name). The run is
    any run with :data:`RUN`'s parameters, a succeeded one first.
    """
    boundary_id = conn.execute(
        text("SELECT id FROM boundaries WHERE kind = 'district' AND name = :n ORDER BY id "
             "LIMIT 1"), {"n": DISTRICT},
    ).scalar()
    if boundary_id is None:
        return None
    run_id = conn.execute(
        text("SELECT id FROM hotspot_runs WHERE params = CAST(:p AS jsonb) AND status <> 'failed' "
             "ORDER BY (status = 'succeeded') DESC, id DESC LIMIT 1"),
        {"p": json.dumps(RUN.as_json())},
    ).scalar()
    if run_id is None:
        run_id = create_run(conn, RUN, trigger="demo")
    return Showcase(int(boundary_id), int(run_id))
