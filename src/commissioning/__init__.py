"""commissioning: a workbench for the people who commission health and care."""

__version__ = "0.1.0"
