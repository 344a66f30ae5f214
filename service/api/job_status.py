"""The status resource every long job behind the API answers with (runs, exports)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel


class JobStatus(BaseModel):
    """Fields shared by the status of every long job: what it is doing and when."""

    id: int
    status: Literal["queued", "running", "succeeded", "failed"]
    progress: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    error: str | None = None
