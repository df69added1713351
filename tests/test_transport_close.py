"""Closing a connection the run already cut (the address moved, the host rebooted) is not an
error: paramiko's SFTP goodbye raised EOFError there, which reached the report as
'internal error: EOFError' (the fault matrix's awaiting-confirm-cut row, seen once)."""

from __future__ import annotations

from typing import Any, cast

import pytest

from bsdprov.ssh.transport import SSHTransport


class Cut:
    """An SFTP session or connection whose peer is gone."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error
        self.closed = False

    def close(self) -> None:
        self.closed = True
        if self.error is not None:
            raise self.error


@pytest.mark.parametrize("error", [EOFError(), ConnectionResetError(104, "reset"), None])
def test_closing_a_cut_connection_closes_the_rest_and_raises_nothing(
    error: BaseException | None,
) -> None:
    jump = SSHTransport.__new__(SSHTransport)
    jump._sftp, jump.cxn, jump.jump = None, cast(Any, Cut(None)), None
    session = SSHTransport.__new__(SSHTransport)
    sftp, cxn = Cut(error), Cut(error)
    session._sftp, session.cxn, session.jump = cast(Any, sftp), cast(Any, cxn), jump
    session.close()
    assert sftp.closed and cxn.closed and cast(Cut, jump.cxn).closed
    assert session._sftp is None
