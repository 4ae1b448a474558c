"""What a resident sees: one module per screen, shared touch widgets, the theme.

Screens render the flow's state and send intents to it; they never do I/O, call drivers or
HTTP. Every screen has ``render(flow, t)`` and ``clear()``; the window calls ``clear()`` on
all of them when a session ends so no widget keeps a resident's data.
"""
