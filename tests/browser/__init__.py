"""Browser tests: Playwright drives Debian's Chromium against a live server on 127.0.0.1."""
