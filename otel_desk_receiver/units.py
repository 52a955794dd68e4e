"""Time units: the SDK counts nanoseconds since the epoch, Desk and the settings count seconds; durations as printed."""

NS_PER_S = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_S


def duration_text(seconds: float) -> str:
    """A duration in the unit that shows it: milliseconds below a second ("10 ms", not "0 s"), else seconds,
    to a tenth at most."""
    if seconds < 1:
        return f"{round(seconds * 1000, 1):g} ms"
    return f"{round(seconds, 1):g} s"
