"""``python -m fleet`` is ``kiosk-fleet``."""

import sys

from fleet.cli import main

sys.exit(main())
