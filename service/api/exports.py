"""exports on the native API (placeholder until it lands)."""
