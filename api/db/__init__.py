"""The database layer shared by the API and the record-keeping activities."""
