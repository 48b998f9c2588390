"""UC8151D operations for defio_epd: a row of the UC81xx family (uc81xx.py)."""

from .uc81xx import UC8151DOps

__all__ = ["UC8151DOps"]
