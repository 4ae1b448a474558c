"""The demo rig: simulator processes for every wire, the scripted visit that drives the real
window, and the VNC relay. Used by `kiosk demo`, `kiosk screenshot`, tests and benches."""
