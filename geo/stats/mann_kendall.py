"""Mann–Kendall trend test, vectorised over many series.

For a series ``x_1..x_T``::

    S     = Σ_{i<j} sign(x_j − x_i)
    Var S = [T(T−1)(2T+5) − Σ_g t_g(t_g−1)(2t_g+5)] / 18      (t_g: size of tie group g)
    z     = (S − 1)/√Var S if S > 0;  0 if S = 0;  (S + 1)/√Var S if S < 0
    p     = 2 · (1 − Φ(|z|))

The ±1 is the continuity correction (S moves in steps of 2). This is the test
ArcGIS's Emerging Hot Spot Analysis applies to each location's series of Gi*
z-scores, and the one ``pymannkendall.original_test`` and esda's ``EmergingHotSpot``
compute.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from geo.stats.gistar import two_sided_p

__all__ = ["MannKendall", "mann_kendall"]


class MannKendall(NamedTuple):
    """Per-series Mann–Kendall results (arrays of the input shape minus the time axis)."""

    s: NDArray[np.int64]
    variance: NDArray[np.float64]
    """Var S with the tie correction."""
    z: NDArray[np.float64]
    """Continuity-corrected; 0 when Var S = 0."""
    p: NDArray[np.float64]
    """Two-sided."""
    tau: NDArray[np.float64]
    """Kendall's tau-a, ``S / (T(T−1)/2)``; its sign is the direction of the trend."""


def mann_kendall(x: ArrayLike, axis: int = -1) -> MannKendall:
    """Mann–Kendall trend test along ``axis`` for every series at once.

    Parameters
    ----------
    x : array_like of float
        Series, time along ``axis`` (e.g. shape (cells, time) with ``axis=-1``, or
        the (time, cells) layout of a space-time cube with ``axis=0``). Values must
        be finite; equal values form tie groups.
    axis : int, default -1
        Time axis.

    Returns
    -------
    MannKendall
        ``s``, ``variance``, ``z``, ``p`` (two-sided) and ``tau``.

    Notes
    -----
    Cost is ``T − 1`` vectorised passes over the data (one per lag) plus one sort for
    the ties: about 0.1 s for 30 000 series of 52 weeks.

    Examples
    --------
    >>> r = mann_kendall([[1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 2.0, 2.0, 3.0, 1.0]])
    >>> r.s.tolist(), np.round(r.variance, 4).tolist()
    ([10, 2], [16.6667, 14.6667])
    >>> np.round(r.z, 4).tolist(), np.round(r.p, 4).tolist()
    ([2.2045, 0.2611], [0.0275, 0.794])
    """
    a = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    if not np.all(np.isfinite(a)):
        raise ValueError("series must be finite")
    batch_shape, t = a.shape[:-1], a.shape[-1]
    rows = a.reshape(-1, t)

    s = np.zeros(rows.shape[0], dtype=np.int64)
    # One pass per lag keeps memory at one (series × T) slab instead of the
    # (series × T²) array of all pairs: 30k × 52² doubles would be 650 MB.
    for lag in range(1, t):
        later, earlier = rows[:, lag:], rows[:, :-lag]
        s += np.count_nonzero(later > earlier, axis=1) - np.count_nonzero(later < earlier, axis=1)

    variance = (t * (t - 1) * (2 * t + 5) - _tie_term(rows)) / 18.0
    z = np.zeros(s.shape, dtype=np.float64)
    defined = variance > 0
    z[defined] = (s[defined] - np.sign(s[defined])) / np.sqrt(variance[defined])
    pairs = t * (t - 1) / 2
    tau = s / pairs if pairs else np.zeros(s.shape, dtype=np.float64)
    return MannKendall(
        s=s.reshape(batch_shape),
        variance=variance.reshape(batch_shape),
        z=z.reshape(batch_shape),
        p=two_sided_p(z).reshape(batch_shape),
        tau=np.asarray(tau, dtype=np.float64).reshape(batch_shape),
    )


def _tie_term(rows: NDArray[np.float64]) -> NDArray[np.float64]:
    """``Σ_g t_g(t_g−1)(2t_g+5)`` per row, from run lengths of the sorted rows."""
    n_rows, t = rows.shape
    if t == 0:
        return np.zeros(n_rows)
    ordered = np.sort(rows, axis=1)
    starts = np.ones((n_rows, t), dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    # Every row begins a run at column 0, so runs in the flattened array never
    # straddle two rows and each run's row is its start position // t.
    flat_starts = np.flatnonzero(starts)
    lengths = np.diff(np.append(flat_starts, n_rows * t)).astype(np.float64)
    term = lengths * (lengths - 1) * (2 * lengths + 5)
    return np.bincount(flat_starts // t, weights=term, minlength=n_rows).astype(np.float64)
