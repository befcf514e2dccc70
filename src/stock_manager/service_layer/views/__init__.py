"""Read-only views of the database (nothing here writes): what the CLI, the daily report and a dashboard show.

Each view returns plain data (UTC times, Decimal money); rendering (the owner's time zone, tables, charts) is
the caller's."""
