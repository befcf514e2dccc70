"""Entrypoints: the composition root and the ``stockbot`` CLI."""
