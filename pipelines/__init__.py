"""Journey Warehouse: the Dagster code location and the pure-Python layers it wraps."""
