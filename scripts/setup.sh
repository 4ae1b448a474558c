#!/usr/bin/env bash
# Installs everything the kiosk, its simulators and its tests need on a Debian machine.
# Idempotent: a second run checks and returns quickly. Run as root (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # Qt runtime libraries for PySide6 wheels (offscreen, vnc, xcb, eglfs platforms)
  libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0
  libxcb-render-util0 libxcb-image0
  # CJK font: simplified and traditional Chinese on screen, receipts and PDFs
  fonts-wqy-zenhei
  # social-security card: PC/SC daemon, virtual reader driver, headers for pyscard
  pcscd vsmartcard-vpcd libpcsclite-dev swig
  # A4 printing: a real CUPS server with a PDF queue, headers for pycups
  cups cups-client printer-driver-cups-pdf libcups2-dev
  # Chinese text entry: handwriting recognizer and its model, Simplified→Traditional (kiosk/ime)
  libzinnia0 tegaki-zinnia-simplified-chinese libopencc1.1 libopencc-data
  # voice guidance (espeak-ng speaks, aplay plays) and document checks
  espeak-ng sox alsa-utils poppler-utils
  # USB receipt printers (pyusb), the VNC demo's private network namespace (ip, unshare)
  libusb-1.0-0 iproute2 util-linux
  # the fleet service's database (tests start their own server with initdb/pg_ctl)
  postgresql
  # the fleet console's browser tests and the demo's screenshots (headless, Selenium)
  chromium chromium-driver
  python3-venv
)

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing apt packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-stamp
if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python packages into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev,fleet]'
  touch "$stamp"
fi
