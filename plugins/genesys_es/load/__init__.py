"""Load: index setup, the bulk writer with its dead letters, and one partition's pipeline."""
