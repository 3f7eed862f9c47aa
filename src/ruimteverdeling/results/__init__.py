"""Results: rasters, tables, summary and run manifest, written atomically."""
