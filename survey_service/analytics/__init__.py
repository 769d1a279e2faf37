"""Analytics over collected data."""
