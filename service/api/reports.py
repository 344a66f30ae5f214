"""Reports on the native API (placeholder until the intake views land)."""
