"""A synthetic, Netherlands-like study area; the hand-drawn geography is package data."""
