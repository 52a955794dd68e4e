"""DeskState: the emulated project's bots and webhook logs behind one lock, with generated traffic
caught up to the virtual clock before every read or write."""

import heapq
import itertools
import threading
from array import array
from collections.abc import Iterable
from datetime import date, datetime

from otel_desk_receiver.devkit.emulator.clock import VirtualClock, to_us
from otel_desk_receiver.devkit.emulator.config import EmulatorConfig
from otel_desk_receiver.devkit.emulator.render import check_bot_fields, new_bot, render_entry
from otel_desk_receiver.devkit.emulator.store import ALWAYS, BotLog, StatusTable
from otel_desk_receiver.devkit.emulator.timefmt import iso_utc, parse_zone, window_us
from otel_desk_receiver.devkit.emulator.traffic import TrafficGenerator

US = 1_000_000
# snake_case arguments of set_bot -> camelCase bot fields (docs/desk-api.md#lists-and-pagination: fields are camelCase)
BOT_FIELDS = {"name": "name", "type": "type", "status": "status", "key": "key", "project": "project",
              "timeout_seconds": "timeoutSeconds", "is_unread_error": "isUnreadError",
              "webhook_url": "webhookUrl", "welcome_message": "welcomeMessage", "photo_url": "photoUrl"}


class UnknownBotError(KeyError):
    """No bot with that id."""


class FaqBotError(ValueError):
    """Webhook logs were asked of a FAQ bot; only CUSTOM bots have them (docs/desk-api.md#bots)."""


class DeskState:
    """Bots and their logs. Every public method takes the lock and first generates the traffic
    due by the clock, so what is served is a pure function of seed, calls and clock readings."""

    def __init__(self, config: EmulatorConfig, clock: VirtualClock):
        self.config, self.clock = config, clock
        self.lock = threading.RLock()
        self.zone = parse_zone(config.time_zone)
        self.statuses = StatusTable()
        self.bots: dict[int, dict] = {}
        self.logs: dict[int, BotLog] = {}
        self.retention_us = config.retention_days * 86_400 * US
        self.traffic = TrafficGenerator(config.seed, config.entry_model, self.retention_us)
        self._bot_ids = itertools.count(1)
        self._entry_ids = itertools.count(1)

    # -- bots ---------------------------------------------------------------------------------
    def add_bot(self, name: str, type: str = "CUSTOM", timeout_seconds: int = 60, is_unread_error: bool = False,
                webhook_url: str | None = None, status: str = "ACTIVE") -> dict:
        with self.lock:
            bot_id = next(self._bot_ids)
            bot = new_bot(bot_id, name, type, self.config.project_id, self.clock.now_us(), webhook_url,
                          timeout_seconds, status, is_unread_error)
            self.bots[bot_id] = bot
            self.logs[bot_id] = BotLog()
            return dict(bot)

    def set_bot(self, bot_id: int, **fields) -> dict:
        unknown = set(fields) - set(BOT_FIELDS)
        if unknown:
            raise TypeError(f"unknown bot fields: {', '.join(sorted(unknown))}")
        check_bot_fields(**fields)
        with self.lock:
            bot = self._bot(bot_id)
            if "webhook_url" in fields and fields["webhook_url"] != bot["webhookUrl"]:
                self.logs[bot_id].url_changes.append((self.clock.now_us(), bot["webhookUrl"]))
            bot.update({BOT_FIELDS[name]: value for name, value in fields.items()})
            bot["updatedAt"] = iso_utc(self.clock.now_us())
            return dict(bot)

    def remove_bot(self, bot_id: int) -> None:
        with self.lock:
            self._bot(bot_id)
            del self.bots[bot_id], self.logs[bot_id]
            self.traffic.streams.pop(bot_id, None)

    def get_bot(self, bot_id: int) -> dict:
        with self.lock:
            self._catch_up()
            return dict(self._bot(bot_id))

    def list_bots(self, offset: int, limit: int) -> tuple[int, list[dict]]:
        with self.lock:
            self._catch_up()
            ordered = [self.bots[bot_id] for bot_id in sorted(self.bots)]
            return len(ordered), [dict(bot) for bot in ordered[offset:offset + limit]]

    def _bot(self, bot_id: int) -> dict:
        try:
            return self.bots[bot_id]
        except KeyError:
            raise UnknownBotError(bot_id) from None

    def _custom_log(self, bot_id: int) -> BotLog:
        if self._bot(bot_id)["type"] != "CUSTOM":
            raise FaqBotError(f"bot {bot_id} is a FAQ bot: only CUSTOM bots have webhook logs")
        return self.logs[bot_id]

    # -- entries ------------------------------------------------------------------------------
    def add_entry(self, bot_id: int, status: str = "SENT", created_at: datetime | None = None,
                  webhook_url: str | None = None, extra: dict | None = None, entry_id: int | None = None) -> dict:
        """One entry with a fixed status (it never moves on its own), id next in sequence unless given
        (a reserved one: see reserve_entry_id)."""
        with self.lock:
            self._catch_up()
            log = self._custom_log(bot_id)
            created_us = to_us(created_at) if created_at else self.clock.now_us()
            entry_id = next(self._entry_ids) if entry_id is None else entry_id
            pos = log.append(entry_id, created_us, ALWAYS, ALWAYS, self.statuses.code(status))
            override = dict(extra or {})
            if webhook_url is not None:
                override["webhookUrl"] = webhook_url
            if override:
                log.overrides[entry_id] = override
            return render_entry(log, pos, self.clock.now_us(), self.statuses, self.bots[bot_id], self.zone)

    def add_entries(self, bot_id: int, count: int, statuses: Iterable[str] = ("RECEIVED",),
                    start: datetime | None = None, spacing_s: float = 1.0) -> range:
        """``count`` fixed-status entries ``spacing_s`` apart from ``start`` (default: ending now),
        cycling through ``statuses``; built as whole arrays, so 10^6 take well under a second."""
        with self.lock:
            self._catch_up()
            log = self._custom_log(bot_id)
            step = int(spacing_s * US)
            start_us = to_us(start) if start else self.clock.now_us() - step * count
            if step:
                created = array("q", range(start_us, start_us + step * count, step))
            else:
                created = array("q", [start_us]) * count
            codes = array("b", [self.statuses.code(name) for name in statuses])
            codes = codes * (count // len(codes) + 1)
            del codes[count:]
            first = next(self._entry_ids)
            self._entry_ids = itertools.count(first + count)
            fixed = array("q", [ALWAYS]) * count
            log.extend(array("q", range(first, first + count)), created, fixed, fixed, codes)
            return range(first, first + count)

    def reserve_entry_id(self) -> int:
        with self.lock:
            return next(self._entry_ids)

    def delete_entries(self, bot_id: int, entry_ids) -> None:
        with self.lock:
            self._catch_up()
            log = self._custom_log(bot_id)
            for entry_id in entry_ids:
                log.remove(log.index_of(entry_id))

    def set_status(self, bot_id: int, entry_id: int, status: str) -> dict:
        """Fix an entry's status from now on, whatever its planned timeline was."""
        with self.lock:
            self._catch_up()
            log = self._custom_log(bot_id)
            i = log.index_of(entry_id)
            log.fix_status(i, self.statuses.code(status))
            return render_entry(log, i, self.clock.now_us(), self.statuses, self.bots[bot_id], self.zone)

    def webhook_logs(self, bot_id: int, offset: int, limit: int, order: str = "-created_at",
                     start: date | None = None, end: date | None = None,
                     statuses: list[str] | None = None) -> tuple[int, list[dict]]:
        """(count, page) as GET /bots/{id}/webhook_logs answers; entries older than the
        retention or created after now are invisible (docs/desk-api.md#dates-time-zones-and-retention)."""
        with self.lock:
            self._catch_up()
            log = self._custom_log(bot_id)
            now_us = self.clock.now_us()
            lo_us, hi_us = window_us(start, end, self.zone)
            lo_us = max(now_us - self.retention_us + 1, lo_us if lo_us is not None else ALWAYS)
            hi_us = min(now_us + 1, hi_us if hi_us is not None else now_us + 1)
            codes = None
            if statuses:
                codes = {code for code in map(self.statuses.known, statuses) if code is not None}
            selection = log.select(lo_us, hi_us, now_us, codes, order)
            bot = self.bots[bot_id]
            page = [render_entry(log, i, now_us, self.statuses, bot, self.zone) for i in selection.page(offset, limit)]
            return selection.count, page

    def entry_count(self) -> int:
        with self.lock:
            self._catch_up()
            return sum(len(log) for log in self.logs.values())

    # -- generated traffic --------------------------------------------------------------------
    def populate(self) -> None:
        """Create the configured bots, preload their settled history, start their live streams."""
        config = self.config
        with self.lock:
            now_us = self.clock.now_us()
            histories = {}
            for index, profile in enumerate(config.bot_profiles()):
                name = profile.label if profile.label != "healthy" else f"support-bot-{index + 1}"
                # Every other bot has user info and query values in its URL, so redaction is exercised.
                url = (f"https://hook-user:s3cret@bots.example.com/{name}/hook?token=abc{index}&region=eu"
                       if index % 2 else f"https://bots.example.com/{name}/webhook")
                bot = self.add_bot(name, timeout_seconds=profile.timeout_seconds, webhook_url=url)
                stream = self.traffic.add_stream(bot["id"], profile, now_us)
                if config.history_per_bot:
                    histories[bot["id"]] = self.traffic.history(
                        stream, profile.timeout_seconds, now_us, config.history_days or 1, config.history_per_bot)
            for index in range(config.faq_bots):
                self.add_bot(f"faq-bot-{index + 1}", type="FAQ")
            self._preload(histories)

    def _preload(self, histories: dict[int, list[array]]) -> None:
        """Assign ids in createdAt order across all bots (a global sequence), then store."""
        ids = {bot_id: array("q") for bot_id in histories}
        streams = [zip(columns[0], itertools.repeat(bot_id)) for bot_id, columns in histories.items()]
        for (_, bot_id), entry_id in zip(heapq.merge(*streams), self._entry_ids):
            ids[bot_id].append(entry_id)
        for bot_id, (created, sent, final, codes) in histories.items():
            self.logs[bot_id].extend(ids[bot_id], created, sent, final, codes)

    def _catch_up(self) -> None:
        now_us = self.clock.now_us()
        timeouts = {bot_id: bot["timeoutSeconds"] for bot_id, bot in self.bots.items() if bot["type"] == "CUSTOM"}
        for created_us, bot_id, sent_us, final_us, code in self.traffic.catch_up(now_us, timeouts):
            self.logs[bot_id].append(next(self._entry_ids), created_us, sent_us, final_us, code)
        for bot_id in self.traffic.streams:
            if bot_id in self.bots and self.traffic.errors_landed(bot_id, now_us):
                self.bots[bot_id]["isUnreadError"] = True
