"""Pure domain: orders, fills, positions, signals, strategies, risk rules and market rules.

Nothing in this package imports an adapter, performs I/O or reads the wall clock.
"""
