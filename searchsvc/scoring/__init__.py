"""The scoring wing."""
