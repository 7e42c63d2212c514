"""Transform: a Genesys conversation becomes an Elasticsearch document (derived fields, PII)."""
