"""From ranked areas to a funding request: unit costs, estimated budget, greedy choice.

The unit of work is an *incident*: a report after repeats are merged (at most one
per reporter per cell per day), because fixing a drain once fixes it for every
neighbour who reported it. An area's cost is the sum over services of its
incidents times the service's unit cost. An area with incidents of a service
that has no unit cost is *not costed*: a partial sum would understate the ask.

Given a budget, areas are taken greedily by priority per dollar (score ÷ cost,
highest first; ties by rank). An area that does not fit the money left is
skipped and the next one tried, so a cheaper, lower-ratio area can still use the
remainder. Greedy is not the optimal knapsack, but it is the rule a reviewer can
check by hand from the table, which matters more here than the last few dollars.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AreaNeed:
    """One priority area's work: incidents and reports per service, people living there."""

    area_id: int
    rank: int
    score: float
    incidents: Mapping[str, int]
    reports: int
    population: float | None = None


@dataclass(frozen=True)
class AreaCost:
    """An area with its estimated cost (None when some service has no unit cost)."""

    need: AreaNeed
    cost: float | None
    missing: tuple[str, ...] = ()

    @property
    def per_dollar(self) -> float:
        """Priority score per dollar (infinite for free work, 0 when not costed)."""
        if self.cost is None:
            return 0.0
        return float("inf") if self.cost == 0 else self.need.score / self.cost


@dataclass
class Selection:
    """What a budget buys: chosen and left-out areas with totals."""

    budget: float | None
    chosen: list[AreaCost] = field(default_factory=list)
    left_out: list[tuple[AreaCost, str]] = field(default_factory=list)

    @property
    def spent(self) -> float:
        """Dollars the chosen areas cost."""
        return sum(a.cost or 0.0 for a in self.chosen)

    @property
    def people(self) -> float:
        """People living in the chosen areas (where known)."""
        return sum(a.need.population or 0.0 for a in self.chosen)

    @property
    def reports(self) -> int:
        """Reports addressed by the chosen areas."""
        return sum(a.need.reports for a in self.chosen)


def cost_areas(needs: Sequence[AreaNeed], unit_costs: Mapping[str, float]) -> list[AreaCost]:
    """Price each area with ``unit_costs`` (dollars per incident, by service).

    >>> need = AreaNeed(1, 1, 0.9, {"flooding": 4, "pothole": 2}, reports=9)
    >>> cost_areas([need], {"flooding": 1000.0, "pothole": 50.0})[0].cost
    4100.0
    >>> cost_areas([need], {"flooding": 1000.0})[0].missing
    ('pothole',)
    """
    out = []
    for need in needs:
        missing = tuple(sorted(s for s, n in need.incidents.items() if n and s not in unit_costs))
        cost = None if missing else float(
            sum(n * unit_costs[s] for s, n in sorted(need.incidents.items()) if n)
        )
        out.append(AreaCost(need, cost, missing))
    return out


def select(areas: Sequence[AreaCost], budget: float | None) -> Selection:
    """Choose areas greedily by priority per dollar within ``budget``.

    Without a budget every costed area is chosen (the full estimate).

    >>> a = AreaCost(AreaNeed(1, 1, 0.9, {}, 10, 100.0), 900.0)
    >>> b = AreaCost(AreaNeed(2, 2, 0.5, {}, 4, 50.0), 100.0)
    >>> c = AreaCost(AreaNeed(3, 3, 0.4, {}, 3, 20.0), 800.0)
    >>> s = select([a, b, c], 1000.0)
    >>> [x.need.area_id for x in s.chosen], [x.need.area_id for x, _ in s.left_out]
    ([2, 1], [3])
    """
    result = Selection(budget=budget)
    remaining = budget if budget is not None else float("inf")
    costed = [a for a in areas if a.cost is not None]
    for area in sorted(costed, key=lambda a: (-a.per_dollar, a.need.rank)):
        assert area.cost is not None
        if area.cost <= remaining:
            result.chosen.append(area)
            remaining -= area.cost
        else:
            result.left_out.append((area, f"costs more than the ${remaining:,.0f} left"))
    for area in areas:
        if area.cost is None:
            result.left_out.append((area, "no unit cost for " + ", ".join(area.missing)))
    result.left_out.sort(key=lambda pair: pair[0].need.rank)
    return result
