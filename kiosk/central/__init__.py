"""The government platform as the terminal sees it: the signed HTTP client, its typed errors,
and request signing. Nothing else in the terminal talks HTTP to central."""
