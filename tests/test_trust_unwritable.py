"""'bsdprov trust' where the key cannot be recorded: a message naming the file.

record_key's OSError (a read-only or full disk, a file it may not write)
was read as a failed connection: "cannot connect: Read-only file system", naming no file.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bsdprov.errors import BsdprovError
from bsdprov.ssh.transport import trust_host
from tests.test_transport import Site, isolated_home, start_site

__all__ = ["isolated_home"]  # the fixture, used by name


@pytest.fixture
def site(tmp_path: Path, isolated_home: Path) -> Iterator[Site]:
    yield from start_site(tmp_path, isolated_home)


@pytest.mark.parametrize("errno", [errno.EROFS, errno.ENOSPC, errno.EACCES])
def test_a_known_hosts_that_cannot_be_written_is_named(
    site: Site, monkeypatch: pytest.MonkeyPatch, errno: int
) -> None:
    real_open = os.open

    def refused(path: str, flags: int, *args: int) -> int:
        if flags & os.O_APPEND:  # record_key's append; reading known_hosts goes on
            raise OSError(errno, os.strerror(errno), path)
        return real_open(path, flags, *args)

    monkeypatch.setattr("bsdprov.ssh.host_keys.os.open", refused)
    host = site.host()
    with pytest.raises(BsdprovError) as caught:
        trust_host(host, {"web01": host}, site.options())
    where = f"host 'web01' (127.0.0.1:{site.port})"
    expected = f"{where}: cannot record its key in {site.known_hosts}: {os.strerror(errno)}"
    assert str(caught.value) == expected
