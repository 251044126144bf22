"""The disclosure service: validate, archive write-once and deliver what a government body must publish."""

__version__ = "0.1.0"
