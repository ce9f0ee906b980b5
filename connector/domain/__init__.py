"""Domain objects and ports: the standard library and msgspec only."""
