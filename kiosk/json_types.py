"""The one name the terminal gives a JSON object: what central sends and answers, a heartbeat,
a remote command and its args, a state the update repository prints. Values are ``object``
on purpose: look at one (``isinstance``, ``str()``) before using it as anything more."""

JSON = dict[str, object]
