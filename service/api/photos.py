"""Photos on the native API (placeholder until the photo views land)."""
