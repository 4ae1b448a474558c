"""Where the project's data lives. ``config/`` ships beside the packages (editable install)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"
SERVICES_DIR = CONFIG_DIR / "services"
CACHE_DIR = ROOT / "var" / "cache"  # derived data only: safe to delete at any time
