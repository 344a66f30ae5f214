"""CivicPulse core library: schema, spatial queries, H3 grid, statistics, privacy.

Nothing here imports Flask, RQ or Redis: every function takes a SQLAlchemy
connection/session or plain arrays, so the same code serves the web service,
the workers and a notebook.
"""
