"""Health and metrics over HTTP for `deskbot serve`: /healthz, /readyz and /metrics.

Part of the composition root: it watches what `bot/serve.py` runs (the engine's workers,
the platform channels) and the database. docs/operations.md ("Health and metrics").
"""
