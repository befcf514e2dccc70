"""Storage: SQLAlchemy 2 Core tables, Alembic-built schema, unit of work on SQLite and PostgreSQL."""
