"""The command line: a thin click layer over the library (`searchsvc index|search|stats|serve`)."""

from searchsvc.cli.commands import main

__all__ = ["main"]
