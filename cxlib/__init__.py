"""cx-suite: customer-experience analytics as evidence."""

__version__ = "0.1.0"
