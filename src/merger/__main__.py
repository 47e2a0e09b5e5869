"""``python -m merger`` runs the CLI, exactly as the ``merger`` executable does."""

from merger.launcher import main

main()
