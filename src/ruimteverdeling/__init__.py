"""ruimteverdeling: land-allocation trade-offs for the Netherlands (Nota Ruimte), with HiGHS."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ruimteverdeling")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
