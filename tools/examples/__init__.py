"""Adafruit's own adafruit_epd examples, run unmodified on our boards (`python -m tools.examples`,
`make examples`): see __main__.py."""
