"""Extract: read conversation details from Genesys Cloud (models, regions, request budget, planning)."""
