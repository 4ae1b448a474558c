"""A resident's visit: the Qt-free flow state machine, its gates and steps, the session that
owns the resident's identity, the effects port, and running a service and shaping its result."""
