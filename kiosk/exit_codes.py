"""Exit codes, defined once: every ``kiosk`` subcommand's, and the running kiosk's own that
systemd acts on (deploy/kiosk.service). Technicians' scripts and the unit test them."""

EXIT_OK = 0  # done
EXIT_FAIL = 1  # anything else
EXIT_USAGE = 2  # bad arguments or configuration
EXIT_TIMEOUT = 3  # nothing came before the timeout
EXIT_DEVICE = 4  # device or protocol error
EXIT_CENTRAL = 5  # central platform error
EXIT_TO_DESKTOP = 64  # technician left to the desktop: RestartPreventExitStatus=64 keeps it stopped
EXIT_RESTART = 75  # central asked for a restart: Restart=always brings back the attract screen
