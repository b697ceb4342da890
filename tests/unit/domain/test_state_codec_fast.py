"""The state codec's faster implementation writes and reads exactly the bytes of the
straightforward one (the format is unchanged: stored states and changelogs stay valid)."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from streams.domain.models import codec


def _pack_ref(seen: list[int]) -> str:
    return base64.b64encode(b"".join(h.to_bytes(8, "big") for h in seen)).decode("ascii")


def _unpack_ref(text: str) -> list[int]:
    raw = base64.b64decode(text)
    return [int.from_bytes(raw[i : i + 8], "big") for i in range(0, len(raw), 8)]


@given(st.lists(st.integers(0, 2**64 - 1), max_size=70))
def test_seen_hashes_pack_and_unpack_as_before(seen: list[int]) -> None:
    text = codec._pack_seen(seen)
    assert text == _pack_ref(seen)
    assert codec._unpack_seen(text) == seen == _unpack_ref(text)


def test_a_short_last_hash_reads_as_before() -> None:
    text = base64.b64encode(b"\x00" * 8 + b"\x01\x02").decode("ascii")
    assert codec._unpack_seen(text) == _unpack_ref(text) == [0, 0x0102]


def test_caps_with_one_and_several_rules_decode_as_before() -> None:
    rows = [[3, 7, [5, 3, 2.0], [1, "custom", 1, 4, 0.5]], [4, 1, [0, 4, 3]]]
    caps = codec._decode_caps(rows, 100)
    types = codec.LEAD_EVENT_TYPES
    assert caps == {3: {7: ((95, ((types[3], 2.0),)),
                            (99, (("custom", 1.0), (types[4], 0.5))))},
                    4: {1: ((100, ((types[4], 3.0),)),)}}
    assert all(isinstance(p, float) for w in caps.values() for es in w.values()
               for _, pts in es for _, p in pts)
