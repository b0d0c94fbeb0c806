"""Hardware drivers behind small interfaces. Imports nothing from panel."""
