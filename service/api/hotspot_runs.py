"""hotspot_runs on the native API (placeholder until it lands)."""
