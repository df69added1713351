"""known_hosts names without wildcards match as the exact name, case aside: the fast path that
keeps a fleet's N hosts reading N lines each from building N^2 regular expressions."""

from __future__ import annotations

from pathlib import Path

from bsdprov.ssh.host_keys import read_known_hosts
from tests.transport_helpers import new_key, public_text


def test_a_literal_name_matches_itself_only(tmp_path: Path) -> None:
    a, b, c = (new_key()[0] for _ in range(3))
    path = tmp_path / "known_hosts"
    path.write_text(
        f"[127.0.0.1]:2222 {public_text(a)}\n"
        f"Gw.Example.ORG,[10.0.0.1]:22 {public_text(b)}\n"
        f"[127.0.0.1]:2222?,!gw.example.org {public_text(c)}\n"
    )
    assert [k.key for k in read_known_hosts([path], "[127.0.0.1]:2222").keys] == [a]
    # '.' and '[' are not regex characters here: no other address, no other port.
    assert read_known_hosts([path], "[127.0.0.1]:222").keys == ()
    assert read_known_hosts([path], "[127x0.0.1]:2222").keys == ()
    assert [k.key for k in read_known_hosts([path], "[127.0.0.1]:22222").keys] == [c]
    # Names compare without case; a negated literal still refuses the line.
    assert [k.key for k in read_known_hosts([path], "gw.example.org").keys] == [b]
    assert [k.key for k in read_known_hosts([path], "[10.0.0.1]:22").keys] == [b]
