"""The indexing wing."""
