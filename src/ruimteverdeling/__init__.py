"""ruimteverdeling: land-allocation trade-offs for the Netherlands (Nota Ruimte), with HiGHS."""

__version__ = "0.1.0"
