"""a2e: an SQL-persisted A2E (Agent-to-Execution) workflow server."""

__version__ = "0.1.0"
