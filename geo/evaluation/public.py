"""An evaluation as anyone but staff may see it: no count that could point at a household.

The rule is the one every public surface keeps (:mod:`geo.privacy`): for a service
shown only in aggregate (a home's lead paint), a count made of one or two distinct
reporters is withheld. An evaluation reports the treated and control groups'
reports before and after; when the intervention targets such a service and any of
those four counts has fewer than :data:`~geo.privacy.MIN_REPORTERS` reporters, all
four counts and their rates are withheld (with the ratio and three counts the fourth
could be worked out), and so is the cost per avoided report (with the cost it gives
the count after). The effect, its interval and the caveats stay: they are ratios.

Grant writers read evaluations through the API and in evidence packs, so both call
:func:`public_result`; planners and admins read the stored result as it is.
"""

from __future__ import annotations

import copy
from typing import Any

from geo.privacy import MIN_REPORTERS

#: Said in place of the withheld counts.
WITHHELD_CAVEAT = (
    f"Report counts are withheld: fewer than {MIN_REPORTERS} different people reported "
    "these services in one of the groups before or after, and a count that small could "
    "point at a household."
)
_COUNTS = ("pre_reports", "post_reports", "pre_rate", "post_rate")


def withheld(result: dict[str, Any]) -> bool:
    """Whether the group counts of ``result`` must be withheld from non-staff callers.

    A result written before reporters were counted (no ``privacy_applies``) is
    treated as if the rule applied and no reporters were counted.

    >>> withheld({"privacy_applies": False, "groups": None})
    False
    >>> withheld({"privacy_applies": True, "groups": {"treated": {"pre_reporters": 2,
    ...           "post_reporters": 9}, "control": {"pre_reporters": 40, "post_reporters": 31}}})
    True
    """
    groups = result.get("groups")
    if not groups or result.get("privacy_applies") is False:
        return False
    return any(int(g.get(key) or 0) < MIN_REPORTERS for g in groups.values()
               for key in ("pre_reporters", "post_reporters"))


def public_result(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` without reporter counts, and without group counts when :func:`withheld`.

    >>> out = public_result({"privacy_applies": True, "cost_per_avoided_report": 12.5,
    ...     "caveats": [], "groups": {"treated": {"cells": 1, "pre_reports": 14,
    ...     "post_reports": 3, "pre_rate": 1.2, "post_rate": 0.5, "pre_reporters": 1,
    ...     "post_reporters": 1}}})
    >>> out["groups"]["treated"]["pre_reports"], out["cost_per_avoided_report"]
    (None, None)
    >>> "pre_reporters" in out["groups"]["treated"], out["counts_withheld"]
    (False, True)
    """
    out = copy.deepcopy(result)
    hide = withheld(result)
    for group in (out.get("groups") or {}).values():
        group.pop("pre_reporters", None)
        group.pop("post_reporters", None)
        if hide:
            group.update(dict.fromkeys(_COUNTS))
    out["counts_withheld"] = hide
    if hide:
        out["cost_per_avoided_report"] = None
        out["caveats"] = [*(out.get("caveats") or []), WITHHELD_CAVEAT]
    return out
