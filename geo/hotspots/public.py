"""A run's public analysis: aggregated services analysed where the privacy rule holds.

The rule (:mod:`geo.privacy`): the public sees an ``aggregated`` service (a home's
lead paint) only per resolution-8 cell, and only where at least
:data:`~geo.privacy.MIN_REPORTERS` distinct reporters filed it. Blanking the counts
of a run's cells was not enough: the study area built around reports, ``gi_z``,
``no_data``, ``priority_rank`` and ``n_neighbors`` are all functions of every report
analysed, and a lone lead report's res-9 cell stood out from its six neighbours.
Withholding such cells "with everything derived from them" is not enough either:
Gi*'s mean and spread come from every cell, so any z published elsewhere still
carries the hidden value.

So a run that covers an aggregated service also analyses, with the same
parameters otherwise, only what the public may see:

* at resolution ``min(run's, 8)``, never finer than the rule's cells;
* without the reports of an aggregated service in any resolution-8 cell where that
  service has fewer than 3 distinct reporters among the run's reports (its period
  and services; reporters as :func:`geo.privacy.reporter_identity_sql`).

That twin is stored beside the run (``hotspot_public_cells``/``_areas``) in the
same transaction, and every caller who is not staff reads it instead of the run
(:mod:`geo.hotspots.outputs`). Every public field is then computed from data the
public may see; a withheld report changes nothing anyone but staff can read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

from geo.h3cells import parent_sql
from geo.hotspots.params import RunParams
from geo.hotspots.publish import AreaResult, CellResult, write_cells
from geo.privacy import GENERALISED_RESOLUTION, MIN_REPORTERS, reporter_identity_sql

#: The run covers an aggregated service (all services when it names none).
COVERS_AGGREGATED_SQL = (
    "EXISTS (SELECT 1 FROM services s WHERE s.privacy <> 'public' "
    "AND (cardinality(CAST(:services AS text[])) = 0 OR s.code = ANY(:services)))"
)


@dataclass(frozen=True)
class Withheld:
    """(service, resolution-8 cell) groups whose reports the public analysis leaves out."""

    services: list[str]
    cells: list[int]


def needed(conn: Connection, params: RunParams) -> bool:
    """True when the run covers an aggregated service, so the public needs a twin."""
    return bool(conn.execute(
        text(f"SELECT {COVERS_AGGREGATED_SQL}"), {"services": list(params.services)}
    ).scalar())


def params_of(params: RunParams) -> RunParams:
    """The twin's parameters: the run's, no finer than the rule's resolution.

    >>> [params_of(RunParams(resolution=r)).resolution for r in (10, 7)]
    [8, 7]
    """
    return params.model_copy(update={"resolution": min(params.resolution, GENERALISED_RESOLUTION)})


def withheld(conn: Connection, params: RunParams, since: dt.date, until: dt.date) -> Withheld:
    """The aggregated-service cells below the reporter rule among the run's reports.

    ``since``/``until`` are the run's days (``geo.hotspots.read.period``).
    """
    rows = conn.execute(
        text(
            f"SELECT r.service_code, {parent_sql('r.h3_cell', GENERALISED_RESOLUTION)} AS cell "
            "FROM reports r JOIN services s ON s.code = r.service_code AND s.privacy <> 'public' "
            "WHERE r.h3_cell IS NOT NULL AND r.status <> 'duplicate' "
            # UTC days, as the aggregate the run reads.
            "AND r.requested_at >= (CAST(:since AS date)::timestamp AT TIME ZONE 'UTC') "
            "AND r.requested_at < (CAST(:until AS date)::timestamp AT TIME ZONE 'UTC') "
            "AND (cardinality(CAST(:services AS text[])) = 0 OR r.service_code = ANY(:services)) "
            f"GROUP BY 1, 2 HAVING count(DISTINCT {reporter_identity_sql('r')}) < :min"
        ),
        {"since": since, "until": until, "services": list(params.services),
         "min": MIN_REPORTERS},
    ).all()
    return Withheld([r.service_code for r in rows], [int(r.cell) for r in rows])


def withheld_sql(service: str, cell: str, *, placeholders: tuple[str, str]) -> str:
    """SQL condition: the row of ``service`` in ``cell`` (any resolution ≥ 8) is not withheld.

    ``placeholders`` are the driver's markers for :meth:`Withheld` ``services`` (text[])
    and ``cells`` (bigint[]), e.g. ``(":ws", ":wc")``; see :func:`bind`.
    """
    services, cells = placeholders
    return (
        f"NOT EXISTS (SELECT 1 FROM unnest(CAST({services} AS text[]), "
        f"CAST({cells} AS bigint[])) AS w(s, c) WHERE w.s = {service} "
        f"AND w.c = {parent_sql(cell, GENERALISED_RESOLUTION)})"
    )


def bind(held: Withheld | None) -> dict[str, list[str] | list[int]]:
    """Parameters ``ws`` and ``wc`` for :func:`withheld_sql` (nothing withheld for None)."""
    return {"ws": held.services if held else [], "wc": held.cells if held else []}


def publish_twin(
    conn: Connection, run_id: int, cells: CellResult, areas: Sequence[AreaResult]
) -> None:
    """Store the public analysis of run ``run_id``, in the caller's (publishing) transaction."""
    write_cells(conn, run_id, cells, areas, cells_table="hotspot_public_cells",
                areas_table="hotspot_public_areas")
