"""One row of a report import: checked, converted and rendered as a COPY text line.

Row-level checks live here so each message can name its row and column; the
H3 cell and the device hash are computed on the way (see :mod:`geo.reports.importer`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import h3.api.basic_int as h3int

from geo.errors import FieldError
from geo.reports.intake import MAX_DESCRIPTION
from geo.schema import REPORT_STATUSES, STORED_H3_RESOLUTION
from geo.services import ServiceInfo, check_attributes

#: Columns read, in the order the row converter takes them (Open311 names).
FIELDS = (
    "service_request_id", "service_code", "lat", "long", "description", "status",
    "requested_datetime", "updated_datetime", "address", "device_id",
    "status_notes", "address_id", "media_url", "attributes",
)
#: Open311 fields an export often carries that are derived or not kept here.
IGNORED = frozenset(
    {"service_name", "agency_responsible", "service_notice", "expected_datetime", "zipcode"}
)
#: Open311 names the same column ``address`` in requests and ``address_string`` in POSTs.
ALIASES = {"address_string": "address"}
REQUIRED = ("service_request_id", "service_code", "requested_datetime")
_PUBLIC_ID = re.compile(r"[A-Za-z0-9_\-]{1,32}")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_FUTURE_SLACK = dt.timedelta(days=1)
#: Staging columns as the file names them, for errors PostgreSQL reports by column.
STAGING_COLUMNS = {
    "public_id": "service_request_id", "lat": "lat", "lon": "long", "h3_cell": "lat",
    "address_string": "address", "requested_at": "requested_datetime",
    "updated_at": "updated_datetime", "device_hash": "device_id", "attributes": "attributes",
    "description": "description", "status_notes": "status_notes",
}


class RowError(FieldError):
    """A row of an import file is not acceptable; names the row and the column."""

    def __init__(self, where: str, column: str, message: str) -> None:
        super().__init__(f"{where}, column {column}", message)
        self.where = where
        self.column = column


class RowsRefused(RowError):
    """Rows of an import file that were refused (so nothing was imported), the first named.

    ``errors`` holds the first :data:`REFUSED_LISTED` of them, ``total`` counts all.
    """

    def __init__(self, errors: list[RowError], total: int) -> None:
        first = errors[0]
        more = f" (and {total - 1} more refused row(s))" if total > 1 else ""
        super().__init__(first.where, first.column, first.message + more)
        self.errors = errors
        self.total = total


#: How many refused and skipped rows an import names (it counts all of them).
REFUSED_LISTED = 50
SKIPPED_LISTED = 10


@dataclass
class ImportResult:
    """What an import did: rows read, reports inserted, rows skipped as already present.

    ``skipped_rows`` names the first :data:`SKIPPED_LISTED` skipped rows ("row 7").
    """

    read: int = 0
    inserted: int = 0
    skipped: int = 0
    address_only: int = 0
    services: set[str] = field(default_factory=set)
    skipped_rows: list[str] = field(default_factory=list)


def _copy_text(value: str) -> str:
    """A string as a COPY text-format field (``\\N`` is NULL, so empty stays empty)."""
    # Four substring scans are much cheaper than translate() on the common clean value.
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


class RowConverter:
    """Checks one row (values in :data:`FIELDS` order) and renders its staging COPY line."""

    def __init__(self, services: dict[str, ServiceInfo], secret: str, now: dt.datetime) -> None:
        self.services = services
        self.latest = now + _FUTURE_SLACK
        self.seen: dict[str, str] = {}
        self.result = ImportResult()
        # HMAC state after the key and the "device|" prefix: per device only the id
        # is hashed (same digest as geo.reports.intake.device_hash, about half the cost).
        self._keyed = hmac.new(secret.encode(), b"device|", hashlib.sha256)
        self._hashes: dict[str, str] = {}

    def _device(self, where: str, device: Any) -> str:
        device = str(device)
        cached = self._hashes.get(device)
        if cached is not None:
            return cached
        if len(device) > 200:
            raise RowError(where, "device_id", "at most 200 characters")
        mac = self._keyed.copy()
        mac.update(device.encode())
        if len(self._hashes) > 500_000:  # repeats are what the cache is for; bound it
            self._hashes.clear()
        out = self._hashes[device] = "\\\\x" + mac.hexdigest()
        return out

    def _time(self, where: str, column: str, raw: Any) -> tuple[dt.datetime, str]:
        try:
            when = dt.datetime.fromisoformat(raw)
        except (TypeError, ValueError):
            raw = str(raw).strip()
            try:
                when = dt.datetime.fromisoformat(raw)
            except ValueError:
                raise RowError(where, column, f"{raw!r} is not an ISO 8601 date-time") from None
        if when.tzinfo is None:
            raise RowError(where, column, f"{raw!r} needs a time zone offset (e.g. +00:00)")
        if when > self.latest:
            raise RowError(where, column, f"{raw!r} is in the future")
        # The common shape, 2025-03-01T09:30:00[.fff](Z|±hh:mm), goes to PostgreSQL as
        # written (it reads it the same way); Python accepts more (week dates, basic
        # format, comma fractions) than PostgreSQL does, so anything else is re-rendered.
        if (len(raw) >= 20 and raw[4] == "-" and raw[7] == "-" and raw[10] in "T "
                and raw[13] == ":" and raw[16] == ":" and raw[19] in "+-Z."):
            return when, raw
        return when, when.isoformat()

    def _coordinate(self, where: str, column: str, raw: Any, bound: float) -> tuple[float, str]:
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise RowError(where, column, f"{raw!r} is not a number") from None
        if not math.isfinite(value) or not -bound <= value <= bound:
            raise RowError(where, column, f"must be between -{bound:g} and {bound:g}")
        # Python's float() accepts "1_0"; PostgreSQL does not.
        return value, raw if isinstance(raw, str) and "_" not in raw else repr(value)

    def _attributes(self, where: str, service: ServiceInfo, attributes: Any) -> str:
        try:
            answers = json.loads(attributes) if isinstance(attributes, str) else attributes
            return _copy_text(json.dumps(check_attributes(service, answers)))
        except FieldError as exc:
            raise RowError(where, exc.field, exc.message) from None
        except ValueError:
            raise RowError(where, "attributes", "not a JSON object") from None

    def line(self, where: str, values: Sequence[Any]) -> str:
        """The staging COPY line of one row; raises :class:`RowError` naming the column."""
        (sid, code, lat_raw, lng_raw, description, status, requested, updated, address,
         device, notes, address_id, media_url, attributes) = values
        # isalnum() is the cheap answer for the usual numeric or alphanumeric ids.
        if not (sid and len(sid) <= 32 and sid.isascii()
                and (sid.isalnum() or _PUBLIC_ID.fullmatch(sid))):
            raise RowError(
                where, "service_request_id",
                "1 to 32 letters, digits, '-' or '_'" if sid else "required",
            )
        first = self.seen.setdefault(sid, where)
        if first is not where:
            raise RowError(where, "service_request_id", f"{sid!r} also appears at {first}")
        service = self.services.get(code) if code else None
        if service is None:
            problem = f"unknown service {code!r}" if code else "required"
            raise RowError(where, "service_code", problem)
        if description:
            if len(description) > MAX_DESCRIPTION:
                raise RowError(where, "description", f"at most {MAX_DESCRIPTION} characters")
            description = _copy_text(description)
        else:
            description = ""
        if status:
            if status not in REPORT_STATUSES:
                status = status.strip().lower()
            if status not in REPORT_STATUSES:
                raise RowError(
                    where, "status", f"{status!r} is not one of {', '.join(REPORT_STATUSES)}"
                )
        else:
            status = "open"
        if not requested:
            raise RowError(where, "requested_datetime", "required")
        requested_at, requested_s = self._time(where, "requested_datetime", requested)
        if updated:
            updated_at, updated_s = self._time(where, "updated_datetime", updated)
            if updated_at < requested_at:
                raise RowError(where, "updated_datetime", "is before requested_datetime")
        else:
            updated_s = requested_s
        if address:
            address = address.strip()
            if len(address) > 1000:
                raise RowError(where, "address", "at most 1000 characters")
        if address_id and len(str(address_id)) > 200:
            raise RowError(where, "address_id", "at most 200 characters")
        if lat_raw and lng_raw:
            lat, lat_s = self._coordinate(where, "lat", lat_raw, 90.0)
            lng, lng_s = self._coordinate(where, "long", lng_raw, 180.0)
            cell_s = str(h3int.latlng_to_cell(lat, lng, STORED_H3_RESOLUTION))
        elif lat_raw or lng_raw:
            missing = "long" if lat_raw else "lat"
            raise RowError(where, missing, "lat and long must be given together")
        elif address or address_id:
            lat_s = lng_s = cell_s = "\\N"
            self.result.address_only += 1
        else:
            raise RowError(where, "lat", "a location is required: lat and long, or address")
        self.result.services.add(service.code)
        line = "\t".join((
            sid, service.code, description, status,
            _copy_text(notes) if notes else "\\N", lat_s, lng_s, cell_s,
            _copy_text(address) if address else "\\N",
            _copy_text(str(address_id)) if address_id else "\\N",
            self._attributes(where, service, attributes) if attributes else "{}",
            requested_s, updated_s,
            self._device(where, device) if device else "\\N",
            _copy_text(media_url) if media_url else "\\N",
        ))
        if "\x00" in line:
            raise RowError(where, "(any)", "contains a NUL character")
        return line
