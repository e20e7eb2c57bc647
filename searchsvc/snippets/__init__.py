"""The snippets wing."""
