"""Venue rule books: the instruments, costs, sessions and calendars of each exchange the daemon trades."""
