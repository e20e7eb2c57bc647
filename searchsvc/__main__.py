"""`python -m searchsvc`: the command line."""

from searchsvc.cli import main

main()
