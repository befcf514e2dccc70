"""Observability: structured logging and metrics."""
