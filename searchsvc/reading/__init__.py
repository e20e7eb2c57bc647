"""The reading wing."""
