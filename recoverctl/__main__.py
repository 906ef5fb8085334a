"""`python -m recoverctl` runs the CLI."""

from recoverctl.cli import main

main()
