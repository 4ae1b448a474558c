"""What the update repository and the terminal agree on: the kinds of update and the one
target name per kind. A copy of ``kiosk/ops/update_targets.py`` (fleet never imports the
terminal's code); tests/fleet/test_repository_move.py proves the two copies agree."""

KINDS = ("catalog", "config", "announcements", "software")


def target_path(kind: str) -> str:
    """The one target name per kind; a new version replaces it under the same name."""
    return f"{kind}/{kind}.tar.gz"
