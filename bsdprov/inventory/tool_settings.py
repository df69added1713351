"""The command's own settings (how bsdprov runs, not what a host is), and what each may be.

One check for every place a setting can come from (``bsdprov.yaml``, the environment, the
inventory's ``defaults:``), so each gives the same words about a bad value; the caller names
where it was written (file, key). Pure.
"""

from __future__ import annotations

# The dead-man timer's floor. The timer counts from its arming, so it must cover the
# activation and then a whole new SSH login: TCP, key exchange and authentication are five to
# eight round trips, about 5 s on a 600 ms satellite link, plus one of the controller's 2 s
# retries. Below that a healthy host rolls back for nothing; 0 or less used to mean no timer at
# all, which leaves a lock-out in place for good. Turning the timer off is ``confirm=False``.
MIN_CONFIRM_TIMEOUT = 10
# The timeouts' ceiling, a day. txn.sh compares them with the shell's ``-gt``/``-lt``, which
# cannot read a number past its integer range (mksh's arithmetic is 32-bit) nor a float: such a
# value read as "no timer", and the run was applied with no dead-man timer at all.
MAX_TIMEOUT = 86400

# The settings an inventory's ``defaults:`` may hold besides the hosts' inherited keys; a
# hosts' key never shares a name with them.
TOOL_SETTINGS = ("parallel", "confirm_timeout")


def tool_setting_problem(name: str, value: object) -> str | None:
    """What is wrong with ``value`` for the whole-number setting ``name``; None when fine."""
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{value!r} is not a whole number"
    if name == "parallel" and value < 1:
        return f"{value} is below 1 (the hosts worked on at once)"
    if name == "confirm_timeout":
        if value < MIN_CONFIRM_TIMEOUT:
            return (
                f"{value} is below {MIN_CONFIRM_TIMEOUT} seconds, the least a host needs to see "
                "a new SSH login before it rolls back (--no-confirm turns the timer off)"
            )
        if value > MAX_TIMEOUT:
            return f"{value} is above {MAX_TIMEOUT} seconds (a day)"
    return None
