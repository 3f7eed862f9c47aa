"""Analyses over solved models (trade-offs, alternatives, rule costs)."""
