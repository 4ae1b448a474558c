"""What the update repository and the terminal agree on, and nothing else: the kinds of
update and the one target name per kind. Wire-level, so both sides (the signing tool that
central runs and the terminal's update client) import it without each other's libraries."""

KINDS = ("catalog", "config", "announcements", "software")


def target_path(kind: str) -> str:
    """The one target name per kind; a new version replaces it under the same name."""
    return f"{kind}/{kind}.tar.gz"
