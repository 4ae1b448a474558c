"""The operators' web console: server-rendered pages over :mod:`fleet.store`, in 简体中文
(default) and English, every asset shipped in this package (templates, CSS, one small
script for auto-refresh); plots are inline SVG drawn on the server.

``create_app`` mounts :func:`console_routes` under ``/console``.
"""

from fleet.console.pages import console_routes

__all__ = ["console_routes"]
