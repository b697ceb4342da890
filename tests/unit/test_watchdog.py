from streams.watchdog import StallDetector


def test_no_lag_is_never_a_stall() -> None:
    d = StallDetector(timeout=30)
    assert not any(d.observe(t, 0, 100) for t in range(0, 300, 5))


def test_moving_position_is_not_a_stall() -> None:
    d = StallDetector(timeout=30)
    assert not any(d.observe(t, 500, t) for t in range(0, 300, 5))


def test_lag_with_a_frozen_position_is_a_stall_after_the_timeout() -> None:
    d = StallDetector(timeout=30)
    assert not d.observe(0, 500, 42)
    assert not d.observe(25, 500, 42)
    assert d.observe(30, 500, 42)
    assert not d.observe(35, 500, 43)  # progress resets it
