"""`python -m searchsvc`: the command line."""

from searchsvc.cli.commands import main

main()
