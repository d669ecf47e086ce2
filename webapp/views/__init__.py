"""One thin blueprint per area."""
