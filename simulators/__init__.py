"""The other side of every wire: central platform, ID-card reader, social-security card,
printers, camera. Simulators speak wire protocols only and import none of ``kiosk``,
``drivers``, ``screens`` or ``offline_queue`` — two independent implementations keep tests
honest. Technicians use them too (``kiosk-sim --help``)."""
