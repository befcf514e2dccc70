"""Strategies: pure functions of market history, position and parameters that return signals."""
