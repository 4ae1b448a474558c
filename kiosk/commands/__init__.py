"""Technician subcommands of ``kiosk``: every module here with a ``register(subparsers)``
adds one subcommand, so a new command is one new file."""
