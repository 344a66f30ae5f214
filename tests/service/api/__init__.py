"""Tests of the native JSON API at /api/v1."""
