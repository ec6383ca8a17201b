"""Persistence: the world-state interface, key layout, the transaction overlay and per-asset stores."""
