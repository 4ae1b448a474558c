"""Hardware drivers: one module per device class, plain Python, no Qt, no kiosk imports.

Every device follows the small surface in :mod:`drivers.base` so that the app, the
technician screen and the heartbeat treat them alike.
"""
