"""Unit costs and the greedy choice of areas by priority per dollar (known answers)."""

import math

from geo.evidence.budget import AreaCost, AreaNeed, cost_areas, select


def need(area_id, score, incidents, reports=10, population=100.0):
    return AreaNeed(area_id, area_id, score, incidents, reports, population)


def test_cost_is_problems_times_unit_cost_per_service():
    costs = cost_areas([need(1, 0.9, {"flooding": 3, "lead_paint": 2})],
                       {"flooding": 1000.0, "lead_paint": 8000.0, "pothole": 5.0})
    assert costs[0].cost == 3 * 1000 + 2 * 8000
    assert costs[0].missing == ()


def test_service_without_unit_cost_leaves_the_area_uncosted():
    [area] = cost_areas([need(1, 0.9, {"flooding": 3, "lead_paint": 2})], {"flooding": 1000.0})
    assert area.cost is None and area.missing == ("lead_paint",)
    chosen = select([area], 1e9)
    assert chosen.chosen == []
    assert chosen.left_out[0][1] == "no unit cost for lead_paint"


def test_greedy_by_priority_per_dollar_and_skips_what_does_not_fit():
    # ratios: a 0.9/900 = 0.001, b 0.5/100 = 0.005, c 0.4/800 = 0.0005, d 0.1/50 = 0.002
    a = AreaCost(need(1, 0.9, {}, population=1000.0), 900.0)
    b = AreaCost(need(2, 0.5, {}, population=200.0), 100.0)
    c = AreaCost(need(3, 0.4, {}, population=50.0), 800.0)
    d = AreaCost(need(4, 0.1, {}, population=10.0), 50.0)
    result = select([a, b, c, d], 1000.0)
    # b (100), d (50), a (900 > 850 left: skipped), c (800 fits the 850 left)
    assert [x.need.area_id for x in result.chosen] == [2, 4, 3]
    assert [(x.need.area_id, why) for x, why in result.left_out] == [
        (1, "costs more than the $850 left")]
    assert result.spent == 950.0 and result.people == 260.0 and result.reports == 30


def test_without_a_budget_every_costed_area_is_the_estimate():
    areas = cost_areas([need(1, 0.9, {"flooding": 2}), need(2, 0.3, {"flooding": 1})],
                       {"flooding": 500.0})
    result = select(areas, None)
    assert result.spent == 1500.0 and len(result.chosen) == 2 and not result.left_out


def test_free_work_comes_first_and_zero_budget_buys_only_that():
    free = AreaCost(need(1, 0.2, {"x": 1}), 0.0)
    paid = AreaCost(need(2, 0.9, {"x": 1}), 10.0)
    assert math.isinf(free.per_dollar)
    result = select([paid, free], 0.0)
    assert [x.need.area_id for x in result.chosen] == [1]
