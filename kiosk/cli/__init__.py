"""The ``kiosk`` command line: ``main`` and one module per subcommand. Every module here
with a ``register(subparsers)`` adds one subcommand, so a new command is one new file."""
