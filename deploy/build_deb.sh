#!/bin/sh
# make deb: dist/kiosk-terminal_<version>_<arch>.deb from the project's wheel, with dpkg-deb.
#   WHEELHOUSE=full (default)  the dependency wheels too (pip wheel; a terminal installs
#                              offline): _amd64, tied to this Python minor (cp311 wheels)
#   WHEELHOUSE=none            the project wheel only, _all (fast; postinst uses pip's index)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
PY=${PY:-$ROOT/.venv/bin/python}
OUT=${OUT:-$ROOT/dist}
WHEELHOUSE=${WHEELHOUSE:-full}
VERSION=$(sed -n 's/^version *= *//p' "$ROOT/setup.cfg" | head -n 1)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# the wheel, built from a copy so the checkout gets no build/ or egg-info of its own
mkdir "$WORK/src"
for item in kiosk drivers screens offline_queue simulators fleet setup.cfg pyproject.toml README.md; do
    [ -e "$ROOT/$item" ] && cp -r "$ROOT/$item" "$WORK/src/"
done
find "$WORK/src" -name __pycache__ -prune -exec rm -rf {} +
PKG="$WORK/kiosk-terminal"
install -d "$PKG/DEBIAN" "$PKG/opt/kiosk/wheels" "$PKG/opt/kiosk/share" \
    "$PKG/lib/systemd/system" "$PKG/lib/udev/rules.d" "$PKG/etc/kiosk" \
    "$PKG/usr/lib/kiosk-terminal" "$PKG/usr/share/doc/kiosk-terminal"
"$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$PKG/opt/kiosk/wheels" "$WORK/src"
ARCH=all
PYDEP=
if [ "$WHEELHOUSE" = full ]; then
    "$PY" -m pip wheel -q -w "$PKG/opt/kiosk/wheels" "$PKG"/opt/kiosk/wheels/kiosk_terminal-*.whl
    # compiled wheels (Qt, OpenCV, pycups …): this machine's architecture and Python minor
    ARCH=$(dpkg --print-architecture)
    PYMINOR=$("$PY" -c 'import sys; print(sys.version_info[1])')
    PYDEP=", python3 (<< 3.$((PYMINOR + 1)))"
fi

cp -r "$ROOT/config" "$PKG/opt/kiosk/share/config"
find "$PKG/opt/kiosk/share/config" -name __pycache__ -prune -exec rm -rf {} +
install -m 0644 "$HERE/kiosk.service" "$HERE/kiosk-slot-guard.service" \
    "$HERE/kiosk-slot-guard.timer" "$HERE/kiosk-consoleblank.service" "$PKG/lib/systemd/system/"
install -m 0644 "$HERE/60-kiosk-terminal.rules" "$PKG/lib/udev/rules.d/"
install -m 0644 "$HERE/eglfs.env" "$PKG/etc/kiosk/eglfs.env"
install -m 0644 "$ROOT/kiosk/ops/slot_guard.py" "$PKG/usr/lib/kiosk-terminal/slot_guard.py"
install -m 0644 "$HERE/README.md" "$HERE/debian/copyright" "$PKG/usr/share/doc/kiosk-terminal/"
for script in postinst prerm postrm; do
    install -m 0755 "$HERE/debian/$script" "$PKG/DEBIAN/$script"
done
install -m 0644 "$HERE/debian/conffiles" "$PKG/DEBIAN/conffiles"
SIZE=$(du -sk --exclude=DEBIAN "$PKG" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@SIZE@/$SIZE/" -e "s/@ARCH@/$ARCH/" -e "s/@PYDEP@/$PYDEP/" \
    "$HERE/debian/control" > "$PKG/DEBIAN/control"

mkdir -p "$OUT"
DEB="$OUT/kiosk-terminal_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$PKG" "$DEB" >/dev/null
echo "$DEB"
