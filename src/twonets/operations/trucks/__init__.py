"""Muck-truck supervision (渣土车): permits, corridors, hours, no-go zones, stops, violations."""
