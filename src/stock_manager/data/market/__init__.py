"""Real KRX and Upbit market data the replaying simulator trades against; origins and quirks in SOURCES.md."""
