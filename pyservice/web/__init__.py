"""Server-rendered pages (no build step): the scan page a phone camera opens
and the demo holder view."""
