"""Spoken guidance: what each screen says (guidance), who says it (speaker), where the sound
goes (sinks), and the voices and speeds per language (settings)."""
