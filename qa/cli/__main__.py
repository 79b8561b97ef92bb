"""`python -m qa.cli`: the same command as `qa`."""

from qa.cli import main

main()
