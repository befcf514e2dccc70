"""The ports: what the service layer asks of the outside world, as Protocols with the value types that cross
them (Decimal money and quantities, aware UTC times). Adapters implement them; only the composition root
(`entrypoints.bootstrap`) chooses which."""
