"""UC8151D controller model: a row of the UC81xx family (controller_uc81xx.py)."""

from .controller_uc81xx import UC8151D

__all__ = ["UC8151D"]
