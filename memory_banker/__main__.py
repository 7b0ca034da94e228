"""``python -m memory_banker`` runs the CLI."""

from memory_banker.cli import main

main()
