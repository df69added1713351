"""How every task reports errors: one message and an exit code, never a traceback."""

from __future__ import annotations

import functools
import os
import tempfile
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from invoke.exceptions import Exit

from bsdprov.errors import BsdprovError, ExitCode
from bsdprov.interrupt import INTERRUPTED

F = TypeVar("F", bound=Callable[..., Any])


def reported(fn: F) -> F:
    """Turn bsdprov errors into one message and an exit code; never show a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BsdprovError as exc:
            raise Exit(str(exc), int(exc.exit_code)) from None
        except Exit:
            raise
        except KeyboardInterrupt:
            # Outside the hosts' work (reading the inventory, printing the report), where no
            # host is in flight; Invoke would exit 1, as if a host had failed.
            raise Exit("interrupted (Ctrl-C)", INTERRUPTED) from None
        except Exception as exc:
            if os.environ.get("BSDPROV_TRACEBACK"):
                raise
            where = _save_traceback(traceback.format_exc())
            raise Exit(
                f"internal error: {type(exc).__name__}: {exc}; {where}please report it "
                "(BSDPROV_TRACEBACK=1 shows it here)",
                int(ExitCode.FAILED),
            ) from None

    return wrapper  # type: ignore[return-value]


def _save_traceback(text: str) -> str:
    """Write ``text`` to a new private file in the temp directory; say where, or "" if it
    could not be written. A new name each time (mkstemp: O_EXCL, mode 0600): a fixed name in a
    shared directory can be a symlink planted by another user, or their file."""
    try:
        fd, name = tempfile.mkstemp(prefix="bsdprov-internal-error-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as log:
            log.write(text)
    except OSError:
        return ""
    return f"the traceback is in {name}; "
