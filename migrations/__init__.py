"""Alembic migrations (run with ``civicpulse db upgrade``)."""
