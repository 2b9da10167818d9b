"""One handler per record type for the push (see base.py, registry.py)."""
