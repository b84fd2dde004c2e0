"""katui: HTTP keep-alive inside packet captures, made obvious."""

__version__ = "0.1.0"
