"""Business operations per area. No Flask imports: views and commands call these."""
