"""``python -m memory_banker`` runs the CLI."""

from memory_banker.cli.main import main

main()
