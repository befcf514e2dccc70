"""Adapters: concrete implementations of the service layer's ports."""
