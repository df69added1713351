"""How every task reports errors: one message and an exit code, never a traceback."""

from __future__ import annotations

import functools
import os
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from invoke.exceptions import Exit

from bsdprov.errors import BsdprovError, ExitCode

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
        except Exception as exc:
            if os.environ.get("BSDPROV_TRACEBACK"):
                raise
            log = Path(tempfile.gettempdir()) / "bsdprov-internal-error.log"
            log.write_text(traceback.format_exc(), encoding="utf-8")
            raise Exit(
                f"internal error: {type(exc).__name__}: {exc}; the traceback is in "
                f"{log}; please report it (BSDPROV_TRACEBACK=1 shows it here)",
                int(ExitCode.FAILED),
            ) from None

    return wrapper  # type: ignore[return-value]
