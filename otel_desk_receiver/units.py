"""Time units: the SDK counts nanoseconds since the epoch, Desk and the settings count seconds."""

NS_PER_S = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_S
