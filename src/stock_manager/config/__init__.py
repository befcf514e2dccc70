"""Settings: environment variables and ``.env`` (spec 001 §13), validated once at start."""
