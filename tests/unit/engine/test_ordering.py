"""Partition cursors: each input partition in offset order, nothing left out."""

from streams.engine.ordering import PartitionCursors, Verdict

TP0, TP1 = ("ev", 0), ("ev", 1)


def committed_at(offsets: dict[tuple[str, int], int]):  # type: ignore[no-untyped-def]
    return offsets.get


def test_a_generation_starts_at_the_committed_offset() -> None:
    c = PartitionCursors()
    c.start_generation(1)
    committed = committed_at({TP0: 10})
    assert c.classify(TP0, 9, committed) is Verdict.REPLAYED
    assert c.classify(TP0, 10, committed) is Verdict.PROCESS
    assert c.classify(TP0, 11, committed) is Verdict.PROCESS
    assert c.expected(TP0) == 12


def test_an_offset_ahead_of_the_cursor_is_a_gap_and_does_not_move_it() -> None:
    c = PartitionCursors()
    c.start_generation(1)
    committed = committed_at({TP0: 10})
    assert c.classify(TP0, 10, committed) is Verdict.PROCESS
    assert c.classify(TP0, 13, committed) is Verdict.GAP  # 11 and 12 were skipped
    assert c.classify(TP0, 14, committed) is Verdict.GAP
    assert c.expected(TP0) == 11
    assert c.classify(TP0, 11, committed) is Verdict.PROCESS  # read again after the seek


def test_without_a_commit_the_first_offset_read_is_the_start() -> None:
    c = PartitionCursors()
    c.start_generation(1)
    assert c.classify(TP1, 5, committed_at({})) is Verdict.PROCESS
    assert c.classify(TP1, 7, committed_at({})) is Verdict.GAP


def test_a_new_generation_forgets_the_cursors() -> None:
    c = PartitionCursors()
    c.start_generation(1)
    assert c.classify(TP0, 10, committed_at({TP0: 10})) is Verdict.PROCESS
    c.start_generation(2)  # another worker had the partition meanwhile
    assert c.expected(TP0) is None
    assert c.classify(TP0, 50, committed_at({TP0: 50})) is Verdict.PROCESS


def test_skip_to_moves_past_offsets_the_log_no_longer_has() -> None:
    c = PartitionCursors()
    c.start_generation(1)
    assert c.classify(TP0, 100, committed_at({TP0: 3})) is Verdict.GAP
    c.skip_to(TP0, 100)
    assert c.classify(TP0, 100, committed_at({TP0: 3})) is Verdict.PROCESS
