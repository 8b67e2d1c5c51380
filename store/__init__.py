"""Persistence: SQLModel tables, explicit transactions and keyword-only repository functions."""

from store.db import Store

__all__ = ["Store"]
