"""ruimteverdeling: land-allocation trade-offs for the Netherlands (Nota Ruimte), with HiGHS."""

from typing import Any


def __getattr__(name: str) -> Any:
    """``__version__``, read from the installed distribution on first use (importing
    ``importlib.metadata`` and scanning the distributions costs every command's start-up
    otherwise); ``0+unknown`` for a source tree that was never installed."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("ruimteverdeling")
    except PackageNotFoundError:  # imported from a source tree that was never installed
        value = "0+unknown"
    globals()["__version__"] = value
    return value
