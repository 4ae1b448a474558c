"""What the kiosk prints: receipt templates (device-neutral elements for the receipt
printer) and A4 documents (PDF for the CUPS document printer), both driven by templates in
``config/templates/``."""
