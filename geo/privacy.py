"""What the public may see of a report, and who counts as a distinct reporter.

Exact points, device ids and contacts are for planners and admins. Everyone else
sees a report of a ``public`` service (a pothole) at its point, and a report of an
``aggregated`` service (a home's lead paint) only as the centre of its
resolution-8 H3 cell (≈0.7 km²) — and not at all when fewer than
:data:`MIN_REPORTERS` distinct reporters filed that service in that cell, because
then the cell could point at one household. "Not at all" means a 404 identical to
an unknown id, no listing, no status, no time (:func:`shown_publicly`).

Who is a distinct reporter (:func:`reporter_identity_sql`, the one definition every
count uses) is decided so that one source cannot fake the crowd that unmasks a
real report. Device ids are chosen by the client, so for reports and
confirmations filed with an ``app`` key the identity is the keyed hash of the
client's coarse network (IPv4 /24, IPv6 /48; :func:`client_network`), whatever
device id it sends: a hundred invented devices from one network count once.
Staff keys (who see exact points anyway) and bulk imports (the city's own
history, loaded by an operator) are trusted: they count by device, or each
report on its own. See ``docs/privacy.md``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from typing import Any

import h3

from geo.h3cells import descendants_range_sql, parent, parent_sql

MIN_REPORTERS = 3
GENERALISED_RESOLUTION = 8
#: Prefix lengths that make one client's addresses one network: a home or a
#: cloud VM rotates within these, a neighbour rarely shares them.
IPV4_PREFIX = 24
IPV6_PREFIX = 48


def client_network(address: str | None) -> str:
    """The coarse network a client address belongs to, as text; ``"unknown"`` if none.

    IPv4-mapped IPv6 addresses are read as IPv4, so one client has one network.

    >>> client_network("203.0.113.77"), client_network("2001:db8:1:2::9")
    ('203.0.113.0/24', '2001:db8:1::/48')
    >>> client_network("::ffff:203.0.113.5"), client_network(None), client_network("x")
    ('203.0.113.0/24', 'unknown', 'unknown')
    """
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def reporter_hash(
    secret: str, *, address: str | None, trusted: bool, device: bytes | None, row_key: bytes
) -> bytes:
    """What a new report or confirmation stores as its reporter (``reporter_hash``).

    Parameters
    ----------
    secret
        The server's secret: the hash cannot be linked to a network without it.
    address
        The client's IP address as the web tier sees it (after trusted proxies).
    trusted
        True for staff keys: their device ids are believed.
    device
        The keyed device hash the row stores, if the client sent a device id.
    row_key
        Unique per row (a report's public id, a random value for a confirmation):
        a trusted row without a device counts on its own.

    Returns
    -------
    bytes
        32 bytes; equal for two rows exactly when they are one reporter.

    >>> a = reporter_hash("s", address="198.51.100.7", trusted=False, device=b"d1", row_key=b"1")
    >>> a == reporter_hash("s", address="198.51.100.200", trusted=False, device=None, row_key=b"2")
    True
    """
    if trusted:
        return device or hashlib.sha256(b"row|" + row_key).digest()
    network = client_network(address).encode()
    return hmac.new(secret.encode(), b"network|" + network, hashlib.sha256).digest()


def reporter_identity_sql(alias: str = "r") -> str:
    """SQL for the reporter of a ``reports`` or ``report_confirmations`` row ``alias``.

    Two rows are one reporter exactly when this is equal; count distinct values of
    it, across reports and confirmations alike. Rows written by intake carry
    ``reporter_hash``; imported history (no ``reporter_hash``) counts by its device,
    else as its own reporter (confirmations always carry one).
    """
    return f"coalesce({alias}.reporter_hash, {alias}.device_hash, int8send({alias}.id))"


def reporter_count_sql(alias: str = "r") -> str:
    """SQL for the distinct reporters of ``alias``'s service in its resolution-8 cell.

    Reporters are :func:`reporter_identity_sql`. Uses the ``h3_cell`` B-tree index
    through a contiguous descendant range.
    """
    lo, hi = descendants_range_sql(f"{alias}.h3_cell", GENERALISED_RESOLUTION)
    return (
        f"(SELECT count(DISTINCT {reporter_identity_sql('p')}) "
        f"FROM reports p WHERE p.service_code = {alias}.service_code "
        f"AND p.h3_cell BETWEEN {lo} AND {hi} AND p.status <> 'duplicate')"
    )


def shown_publicly_sql(alias: str = "r", service_alias: str = "s") -> str:
    """SQL condition: the public may know report ``alias`` exists (:func:`shown_publicly`)."""
    return (
        f"({service_alias}.privacy = 'public' OR ({alias}.h3_cell IS NOT NULL "
        f"AND {reporter_count_sql(alias)} >= {MIN_REPORTERS}))"
    )


def public_columns_sql(alias: str = "r", service_alias: str = "s") -> str:
    """Select-list fragment giving ``privacy`` and ``cell_reporters`` for :func:`public_point`.

    ``cell_reporters`` is only computed for aggregated services (a CASE keeps
    public services free of the sub-query).
    """
    return (
        f"{service_alias}.privacy AS privacy, "
        f"CASE WHEN {service_alias}.privacy = 'public' OR {alias}.h3_cell IS NULL THEN NULL "
        f"ELSE {reporter_count_sql(alias)} END AS cell_reporters"
    )


def generalised_cell_sql(alias: str = "r") -> str:
    """SQL for the resolution-8 parent of a report's stored cell."""
    return parent_sql(f"{alias}.h3_cell", GENERALISED_RESOLUTION)


def public_point(row: Any, *, may_see_exact: bool) -> tuple[float | None, float | None, bool]:
    """``(lat, long, exact)`` a caller may see for a report row.

    ``row`` needs ``lat``, ``long``, ``h3_cell``, ``privacy`` and ``cell_reporters``.

    >>> from types import SimpleNamespace as R
    >>> public_point(R(lat=1.0, long=2.0, h3_cell=None, privacy="public",
    ...                cell_reporters=None), may_see_exact=False)
    (1.0, 2.0, True)
    """
    if row.lat is None or row.long is None:
        return None, None, False
    if may_see_exact or row.privacy == "public":
        return row.lat, row.long, True
    if (row.cell_reporters or 0) < MIN_REPORTERS:
        return None, None, False
    cell = parent(int(row.h3_cell), GENERALISED_RESOLUTION)
    lat, lng = h3.cell_to_latlng(h3.int_to_str(cell))
    return round(lat, 6), round(lng, 6), False


def shown_publicly(row: Any) -> bool:
    """Whether a caller who is neither staff nor the report's token holder may know it exists.

    ``row`` needs ``privacy``, ``h3_cell`` and ``cell_reporters`` (see
    :func:`public_columns_sql`). An aggregated report outside a cell of
    :data:`MIN_REPORTERS` reporters (or without a point yet) is not shown at all:
    not its id, status or time, which would single out the one household.

    >>> from types import SimpleNamespace as R
    >>> shown_publicly(R(privacy="aggregated", h3_cell=617700169958293503, cell_reporters=2))
    False
    """
    if row.privacy == "public":
        return True
    return row.h3_cell is not None and (row.cell_reporters or 0) >= MIN_REPORTERS
