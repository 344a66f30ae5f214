"""Hotspot statistics as plain functions over numpy arrays.

No Flask, no Redis, no SQL and no module state: everything takes arrays (cells as
int64 H3 ids, values per cell, neighbourhoods as CSR ``indptr``/``indices``) and
returns arrays, so the same code runs in an RQ job, a test or a notebook.

=================  ==============================================================
module             what it holds
=================  ==============================================================
``grid``           H3 neighbourhoods (CSR, self included) and the study area
``gistar``         Getis–Ord Gi* z and two-sided p (equal to esda, ArcGIS)
``fdr``            Benjamini–Hochberg confidence bins -3..3, as ArcGIS Pro
``moran``          global Moran's I and the choice of K (incremental autocorrelation)
``rates``          global Empirical Bayes rates (Marshall 1991), prior clamped
``mann_kendall``   vectorised Mann–Kendall trend test
``trends``         space-time Gi* and ArcGIS Pro's emerging hot spot categories
``priority``       intervention areas, priority scores and ranks
``hotspots``       :func:`analyse`: Gi* + FDR + the no-data and 3-reporter rules
=================  ==============================================================

Examples
--------
>>> import numpy as np
>>> from h3.api import basic_int as h3i
>>> cells = study_area_from_reports([h3i.latlng_to_cell(25.77, -80.19, 9)], 3)
>>> weights = np.zeros(cells.size)
>>> result = analyse(cells, weights, reporters=weights)
>>> bool(result.no_data.all()), int(np.abs(result.gi_bin).max())
(True, 0)
"""

from geo.stats.fdr import DEFAULT_ALPHAS, benjamini_hochberg, gi_bins
from geo.stats.gistar import GiStar, gi_star, gi_star_z, two_sided_p
from geo.stats.grid import (
    latlng_to_cells,
    neighbourhood_distances,
    neighbourhoods,
    restrict_neighbourhoods,
    study_area_from_reports,
)
from geo.stats.hotspots import HotspotCells, analyse
from geo.stats.mann_kendall import MannKendall, mann_kendall
from geo.stats.moran import Moran, choose_rings, morans_i
from geo.stats.priority import (
    DEFAULT_TREND_BONUS,
    Priority,
    PriorityWeights,
    intervention_areas,
    priority,
)
from geo.stats.rates import EBRates, eb_rates
from geo.stats.trends import (
    Emerging,
    EmergingHotspots,
    SpaceTimeGiStar,
    classify_emerging,
    emerging_hotspots,
    emerging_labels,
    space_time_gistar,
)

__all__ = [
    "DEFAULT_ALPHAS",
    "DEFAULT_TREND_BONUS",
    "EBRates",
    "Emerging",
    "EmergingHotspots",
    "GiStar",
    "HotspotCells",
    "MannKendall",
    "Moran",
    "Priority",
    "PriorityWeights",
    "SpaceTimeGiStar",
    "analyse",
    "benjamini_hochberg",
    "choose_rings",
    "classify_emerging",
    "eb_rates",
    "emerging_hotspots",
    "emerging_labels",
    "gi_bins",
    "gi_star",
    "gi_star_z",
    "intervention_areas",
    "latlng_to_cells",
    "mann_kendall",
    "morans_i",
    "neighbourhood_distances",
    "neighbourhoods",
    "priority",
    "restrict_neighbourhoods",
    "space_time_gistar",
    "study_area_from_reports",
    "two_sided_p",
]
