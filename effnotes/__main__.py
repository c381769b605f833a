"""``python -m effnotes`` runs the command-line interface."""

from effnotes.cli import main

raise SystemExit(main())
