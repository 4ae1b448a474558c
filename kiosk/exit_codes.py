"""Exit codes shared by every ``kiosk`` subcommand (technicians' scripts test them)."""

EXIT_OK = 0  # done
EXIT_FAIL = 1  # anything else
EXIT_USAGE = 2  # bad arguments or configuration
EXIT_TIMEOUT = 3  # nothing came before the timeout
EXIT_DEVICE = 4  # device or protocol error
EXIT_CENTRAL = 5  # central platform error
