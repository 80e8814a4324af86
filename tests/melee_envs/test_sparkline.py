import math

from melee_envs.sparkline import LEVELS, binned, sparkline


def test_bars_follow_the_values():
    assert sparkline([3, 2, 2.5, 1]) == "█▅▆▁"
    assert sparkline([1.0, 1.0, 1.0]) == "▄▄▄"  # no trend: the middle
    assert sparkline([1, math.nan, 2, math.inf]) == "▁ █ "
    assert sparkline([]) == "" and sparkline([math.nan]) == " "
    falling = sparkline([10 - k for k in range(8)])
    assert falling == LEVELS[::-1]  # every level once, from the top down
    assert sparkline(range(100), width=5) == "▁▃▅▆█"  # the last 5 values, rescaled


def test_binned_keeps_the_trend_of_a_long_run():
    assert binned([1, 2, 3], 5) == [1, 2, 3]
    assert binned(list(range(10)), 3) == [0.5, 3.5, 7.5]  # the oldest group takes the remainder
    values = [1 / (1 + k) for k in range(1000)]
    assert len(binned(values, 24)) <= 24
    assert sparkline(binned(values, 24), 24)[0] == "█" and sparkline(binned(values, 24), 24)[-1] == "▁"
