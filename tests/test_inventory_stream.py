"""An inventory that is a stream, not a file: read up to the size bound, never without end.

The 4 MiB bound was checked on stat()'s size, which a device or a pipe reports as 0:
'bsdprov check -i /dev/zero' read until memory ran out (MemoryError, or the OOM killer).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from bsdprov import api
from bsdprov.errors import InventoryError
from bsdprov.inventory import MAX_BYTES


def test_an_endless_device_is_refused_at_the_bound() -> None:
    with pytest.raises(InventoryError) as caught:
        api.check("/dev/zero")
    assert str(caught.value) == (
        f"/dev/zero: is over {MAX_BYTES} bytes; an inventory may have at most {MAX_BYTES} (4 MiB)"
    )


def test_a_pipe_within_the_bound_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "inventory.yaml"
    os.mkfifo(fifo)
    text = "hosts:\n  a: {address: 192.0.2.1}\n"
    writer = threading.Thread(target=fifo.write_text, args=(text,))
    writer.start()
    try:
        assert list(api.check(fifo).hosts) == ["a"]
    finally:
        writer.join(5)
