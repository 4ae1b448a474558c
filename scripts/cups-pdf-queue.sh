#!/usr/bin/env bash
# A CUPS PDF queue for tests and `make demo`: start|stop|status.
#   start  – start `cupsd -f` unless a scheduler already runs, add queue kiosk-pdf (cups-pdf
#            backend), print "QUEUE OUT_DIR" (OUT_DIR = where cups-pdf writes the PDFs).
#   stop   – remove the queue and stop cupsd, but only what `start` itself created.
# State (what we created) lives in $KIOSK_CUPS_STATE (default /tmp/kiosk-cups-pdf).
set -euo pipefail
QUEUE="${KIOSK_CUPS_QUEUE:-kiosk-pdf}"
STATE="${KIOSK_CUPS_STATE:-/tmp/kiosk-cups-pdf}"
PPD="lsb/usr/cups-pdf/CUPS-PDF_noopt.ppd"

out_dir() {
    local out
    out="$(sed -n 's/^[[:space:]]*Out[[:space:]]\+//p' /etc/cups/cups-pdf.conf 2>/dev/null | tail -1)"
    out="${out:-/var/spool/cups-pdf/\${USER\}}"
    out="${out//\$\{HOME\}/$HOME}"
    out="${out//\$\{USER\}/$(id -un)}"
    echo "$out"
}

running() { lpstat -r 2>/dev/null | grep -q "is running"; }

start() {
    mkdir -p "$STATE"
    if ! running; then
        command -v cupsd >/dev/null || { echo "cupsd not installed (apt: cups)" >&2; exit 4; }
        nohup cupsd -f >"$STATE/cupsd.log" 2>&1 &
        echo $! >"$STATE/cupsd.pid"
        for _ in $(seq 1 100); do running && break; sleep 0.1; done
        running || { echo "cupsd did not start: $(tail -3 "$STATE/cupsd.log")" >&2; exit 4; }
    fi
    if ! lpstat -p "$QUEUE" >/dev/null 2>&1; then
        lpadmin -p "$QUEUE" -E -v cups-pdf:/ -m "$PPD" 2>/dev/null \
            || { echo "cannot add queue $QUEUE (apt: printer-driver-cups-pdf)" >&2; exit 4; }
        touch "$STATE/queue-created"
    fi
    # pdftocairo keeps the PDF's ToUnicode maps through the PDF → PS → PDF round trip, so
    # Chinese text in the queue's output stays searchable (the default pdftops/gs loses it).
    lpadmin -p "$QUEUE" -o pdftops-renderer-default=pdftocairo
    cupsenable "$QUEUE"
    cupsaccept "$QUEUE"
    mkdir -p "$(out_dir)"
    echo "$QUEUE $(out_dir)"
}

stop() {
    if [ -f "$STATE/queue-created" ]; then
        lpadmin -x "$QUEUE" 2>/dev/null || true
        rm -f "$STATE/queue-created"
    fi
    if [ -f "$STATE/cupsd.pid" ]; then
        pid="$(cat "$STATE/cupsd.pid")"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        rm -f "$STATE/cupsd.pid"
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) running && lpstat -p "$QUEUE" && echo "out: $(out_dir)" ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
