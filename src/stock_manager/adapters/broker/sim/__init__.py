"""The replaying exchange simulator: matching engine, persistent journal and the sim broker."""
