"""Browser tests: the demo city served once for this package, driven by headless Chromium."""
