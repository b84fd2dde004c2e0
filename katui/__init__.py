"""katui: HTTP keep-alive inside packet captures, made obvious."""

from katui import speedups

__version__ = "0.1.0"

speedups.install()
