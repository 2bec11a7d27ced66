"""qorgau — Kazakhstan's integrated digital ecosystem for labour protection."""

__version__ = "0.1.0"
