"""Operations: technician access, doctor, heartbeat, remote commands, signed updates, watchdog.

Plain Python, no Qt: the app hops results to the GUI thread itself. Nothing starts at import.
"""
