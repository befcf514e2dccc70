"""Use cases (market open, intraday execution, close, recovery) written against ports."""
