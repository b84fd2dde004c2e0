"""Bounded memos stop growing at their bound but still answer."""

from katui.memo import remember


def test_remember_keeps_values_up_to_the_bound():
    cache: dict = {}
    assert [remember(cache, k, k * 2, 3) for k in range(5)] == [0, 2, 4, 6, 8]
    assert cache == {0: 0, 1: 2, 2: 4}
