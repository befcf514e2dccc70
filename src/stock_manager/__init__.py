"""stockbot: an automated trading daemon for KRX stocks through the KIS Open API."""

__version__ = "0.1.0"
