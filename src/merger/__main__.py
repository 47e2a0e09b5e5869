"""``python -m merger`` runs the CLI."""

from merger.cli import main

main()
