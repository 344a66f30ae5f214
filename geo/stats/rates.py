"""Global Empirical Bayes smoothing of rates (Marshall 1991).

A raw rate ``events / population`` in a cell with few residents swings wildly: one
report among 20 residents reads as a 5 % rate. Marshall's global EB estimator pulls
each raw rate towards the city-wide rate, more strongly where the population is
small::

    m   = Σ e / Σ b                         prior mean (city-wide rate)
    s²  = Σ b (r − m)² / Σ b                population-weighted variance of raw rates
    A   = max(s² − m / b̄, 0)                prior variance (b̄ = mean population)
    w_i = A / (A + m / b_i)                 shrinkage weight
    EB_i = w_i r_i + (1 − w_i) m

This is esda's ``esda.smoothing.Empirical_Bayes`` except for the clamp: esda keeps a
negative ``A``, which yields negative weights and estimates outside the range of the
data when rates are homogeneous (measured: weights −0.067 … −0.0008 on 200 units of
Poisson data at 1 %). A variance cannot be negative; with ``A = 0`` every estimate
is the city-wide rate, which is also what ESRI's ``EmpiricalBayesRates`` returns when
``s² < m / b̄``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["EBRates", "eb_rates"]


class EBRates(NamedTuple):
    """Smoothed rates and the quantities a reviewer needs to check them."""

    rate: NDArray[np.float64]
    """EB rate per cell; NaN where the population is 0."""
    raw_rate: NDArray[np.float64]
    """``events / population``; NaN where the population is 0."""
    weight: NDArray[np.float64]
    """Shrinkage weight ``w_i`` in [0, 1): 0 means "all prior"; NaN where population is 0."""
    prior_mean: float
    """City-wide rate ``m``."""
    prior_variance: float
    """``A`` after clamping at 0."""


def eb_rates(events: ArrayLike, population: ArrayLike) -> EBRates:
    """Global Empirical Bayes rates (Marshall 1991) with the prior variance clamped at 0.

    Parameters
    ----------
    events : array_like of float, shape (n,)
        Events (reports, weighted reports) per cell; non-negative.
    population : array_like of float, shape (n,)
        Population at risk per cell; non-negative. Cells with population 0 have
        no rate: they get NaN and are left out of the prior, as ArcGIS's
        Optimized Hot Spot Analysis drops zero denominators. Exclude them from
        a rate analysis rather than reading NaN as zero.

    Returns
    -------
    EBRates

    Examples
    --------
    Four cells; the one with 10 residents and 1 report (raw rate 10 %) is pulled
    almost all the way to the city-wide 2.65 %, the large ones barely move:

    >>> r = eb_rates([1, 30, 2, 15], [10, 1000, 500, 300])
    >>> round(r.prior_mean, 4)
    0.0265
    >>> np.round(r.raw_rate, 3).tolist()
    [0.1, 0.03, 0.004, 0.05]
    >>> np.round(r.rate, 3).tolist()
    [0.032, 0.03, 0.009, 0.043]
    """
    e = np.asarray(events, dtype=np.float64).ravel()
    b = np.asarray(population, dtype=np.float64).ravel()
    if e.shape != b.shape:
        raise ValueError("events and population must have the same shape")
    if np.any(~np.isfinite(e)) or np.any(~np.isfinite(b)) or np.any(e < 0) or np.any(b < 0):
        raise ValueError("events and population must be finite and non-negative")

    has_people = b > 0
    nan = np.full(e.shape, np.nan)
    if not has_people.any():
        return EBRates(nan, nan.copy(), nan.copy(), float("nan"), float("nan"))
    e_in, b_in = e[has_people], b[has_people]
    raw_in = e_in / b_in
    prior_mean = float(e_in.sum() / b_in.sum())
    spread = float((b_in * (raw_in - prior_mean) ** 2).sum() / b_in.sum())
    prior_variance = max(spread - prior_mean / float(b_in.mean()), 0.0)

    denominator = prior_variance + prior_mean / b_in
    # No events anywhere makes m = 0 and A = 0: every rate is 0 and the weight moot.
    weight_in = np.divide(
        prior_variance, denominator, out=np.zeros_like(b_in), where=denominator > 0
    )
    raw, weight, rate = nan.copy(), nan.copy(), nan.copy()
    raw[has_people] = raw_in
    weight[has_people] = weight_in
    rate[has_people] = weight_in * raw_in + (1.0 - weight_in) * prior_mean
    return EBRates(rate, raw, weight, prior_mean, prior_variance)
