"""Rule families, each compiling (with numpy only) into blocks of a ModelSpec."""
