"""Timing shared by the benchmark scripts (run as `python benchmarks/<script>.py`, so importable)."""

import time


def best_time(fn, repeat: int) -> float:
    """The fastest of ``repeat`` timed calls of ``fn``, after one untimed warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
