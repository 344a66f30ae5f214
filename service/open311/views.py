"""Open311 GeoReport v2 views (placeholder until they land)."""
