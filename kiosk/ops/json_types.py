"""The one name kiosk/ops gives a JSON object: a heartbeat, a remote command and its args, a
report for central, a state the update repository prints. Values are ``object`` on purpose:
look at one (``isinstance``, ``str()``) before using it as anything more."""

JSON = dict[str, object]
