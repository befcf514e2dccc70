"""Broker adapters: the replaying simulator (sim/) and, later, the KIS Open API client."""
