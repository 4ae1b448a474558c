"""The only Qt in kiosk/: the running terminal (KioskApp), the bridge that carries device and
worker callbacks to the GUI thread, and the wiring of operations to the app."""
