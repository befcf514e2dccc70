"""Market data: loaders of the bundled real KRX data and the intraday paths replayed from it."""
