"""The embedded default: a Temporal dev server, a worker and the API on one machine."""
