"""The kiosk's brain: config, catalog, session, flow, central client, documents, ops, CLI.

Qt appears only in ``kiosk.app`` (the wiring) and ``kiosk.demo`` (the scripted demo).
"""

__version__ = "0.1.0"
