"""``python -m stock_manager`` runs the ``stockbot`` CLI."""

from stock_manager.entrypoints.cli import main

main()
