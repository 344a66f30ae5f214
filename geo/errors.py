"""Errors the library raises for bad input; each surface renders them its own way."""

from __future__ import annotations


class FieldError(ValueError):
    """A value the caller sent is not acceptable; ``field`` names it."""

    def __init__(self, field: str, message: str, *, status: int = 422) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status


class NotFound(LookupError):
    """The thing asked for does not exist (or the caller may not know that it does)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what
