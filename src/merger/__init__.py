"""merger: a versioned register of administrative reorganisations."""

__version__ = "0.1.0"
