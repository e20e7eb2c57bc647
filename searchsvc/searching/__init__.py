"""The searching wing."""
