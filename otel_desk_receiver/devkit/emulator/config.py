"""EmulatorConfig and BotProfile: everything that shapes the emulator, with defaults that serve
no bots and no traffic."""

from dataclasses import dataclass
from datetime import datetime

from otel_desk_receiver.devkit.emulator.timefmt import parse_zone

ENTRY_MODELS = ("in_place", "per_status")


@dataclass(frozen=True)
class BotProfile:
    """How one generated CUSTOM bot behaves.

    Each event errors with ``error_ratio`` (Desk got no HTTP 200 from the bot), else never gets
    a reply with ``timeout_ratio``, else is answered after a log-normal delay with median
    ``reply_delay_s``; a reply slower than ``timeout_seconds`` is a TIMEOUT (docs/desk-api.md#statuses).
    """

    label: str = "healthy"
    rate_per_s: float = 0.2
    error_ratio: float = 0.02
    timeout_ratio: float = 0.02
    reply_delay_s: float = 2.0
    reply_delay_sigma: float = 0.8
    timeout_seconds: int = 60


@dataclass(frozen=True)
class EmulatorConfig:
    """Emulator settings. The defaults give an empty Desk: no bots, no traffic, real clock."""

    token: str = "emulator-token"
    seed: int = 1
    time_zone: str = "UTC"  # project zone for start_date/end_date: 'UTC', '+09:00' or an IANA name
    public_url: str | None = None  # origin for next/previous links, as behind a proxy
    entry_model: str = "in_place"  # or "per_status": each status is its own entry
    frozen_at: datetime | None = None  # freeze the virtual clock at this aware instant
    retention_days: int = 30  # docs/desk-api.md#dates-time-zones-and-retention
    project_id: int = 1001
    control: bool = False  # serve the /_emulator/ control surface
    verbose: bool = False  # access log on stderr
    # Generated traffic (docs/desk-api.md#bots, docs/desk-api.md#what-a-log-entry-stands-for).
    bots: int = 0  # CUSTOM bots with traffic
    faq_bots: int = 0  # FAQ bots: listed, no webhook logs
    rate_per_s: float = 0.2  # live events per second per bot
    error_ratio: float = 0.02
    timeout_ratio: float = 0.02
    reply_delay_s: float = 2.0  # median of the log-normal reply delay
    history_days: float = 0.0  # preloaded, settled past traffic spread over this many days
    history_per_bot: int = 0
    profiles: tuple[BotProfile, ...] | None = None  # one per CUSTOM bot; default: see bot_profiles
    # Faults configured from the start (see faults.Faults.configure).
    rate_limit_rps: float | None = None
    rate_limit_header: str = "Retry-After"
    fault_error_ratio: float = 0.0
    latency_s: float = 0.0
    malformed_ratio: float = 0.0
    drop_ratio: float = 0.0
    max_page_rows: int | None = None  # cap on rows per webhook_logs page whatever limit asks (next stays set)

    def __post_init__(self):
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))

    def problems(self) -> list[str]:
        found = []
        if self.entry_model not in ENTRY_MODELS:
            found.append(f"entry_model must be one of {', '.join(ENTRY_MODELS)} (got {self.entry_model!r})")
        for name in ("error_ratio", "timeout_ratio", "fault_error_ratio", "malformed_ratio", "drop_ratio"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                found.append(f"{name} must be between 0 and 1 (got {getattr(self, name)})")
        for name in ("bots", "faq_bots", "history_per_bot", "history_days", "rate_per_s", "latency_s"):
            if getattr(self, name) < 0:
                found.append(f"{name} must not be negative (got {getattr(self, name)})")
        if self.reply_delay_s <= 0:
            found.append(f"reply_delay_s must be positive (got {self.reply_delay_s})")
        try:
            parse_zone(self.time_zone)
        except ValueError as error:
            found.append(f"time_zone: {error}")
        if self.profiles is not None and len(self.profiles) != self.bots:
            found.append(f"profiles must hold one profile per bot ({self.bots}, got {len(self.profiles)})")
        return found

    def bot_profiles(self) -> tuple[BotProfile, ...]:
        """The given profiles, or healthy bots with the last two "flaky" and "slow" when bots >= 3,
        so a demo shows an erroring and a timing-out bot beside healthy ones."""
        if self.profiles is not None:
            return self.profiles
        healthy = BotProfile(rate_per_s=self.rate_per_s, error_ratio=self.error_ratio,
                             timeout_ratio=self.timeout_ratio, reply_delay_s=self.reply_delay_s)
        if self.bots < 3:
            return (healthy,) * self.bots
        flaky = BotProfile(label="flaky", rate_per_s=self.rate_per_s, error_ratio=max(0.3, self.error_ratio),
                           timeout_ratio=self.timeout_ratio, reply_delay_s=self.reply_delay_s)
        slow = BotProfile(label="slow", rate_per_s=self.rate_per_s, error_ratio=self.error_ratio,
                          timeout_ratio=self.timeout_ratio, reply_delay_s=max(8.0, self.reply_delay_s * 4),
                          timeout_seconds=10)
        return (healthy,) * (self.bots - 2) + (flaky, slow)
