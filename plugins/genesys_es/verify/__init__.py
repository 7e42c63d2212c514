"""Verify: index health, counts and ids against Genesys per UTC day, query latency."""
