"""Every public telemetry name: attributes, metrics, event and scope (the single source).

README tables, dashboards, alert rules and tests derive from this module, the way a
Collector receiver derives its documentation from metadata.yaml.
"""

from dataclasses import dataclass

SCOPE_NAME = "otel_desk_receiver"
DEFAULT_SERVICE_NAME = "otel-desk-receiver"
EVENT_NAME = "sendbird.desk.bot.webhook"

# The Desk app (its label: DESK_APP_ID, or the API host[:port]): on every entry log record and every per-app data
# point, so several apps in one receiver and several receivers in one backend never share a series; on the
# resource too when the process has exactly one app.
ATTR_APP_ID = "sendbird.app_id"

# Log record attributes (README.md, "One log record per webhook log entry, when it settles")
ATTR_LOG_RECORD_UID = "log.record.uid"
ATTR_BOT_ID = "sendbird.desk.bot.id"
ATTR_BOT_NAME = "sendbird.desk.bot.name"
ATTR_BOT_KEY = "sendbird.desk.bot.key"
ATTR_WEBHOOK_LOG_ID = "sendbird.desk.webhook_log.id"
ATTR_WEBHOOK_LOG_STATUS = "sendbird.desk.webhook_log.status"
ATTR_SETTLED_BY = "sendbird.desk.webhook_log.settled_by"
ATTR_EXTRA_FIELD_PREFIX = "sendbird.desk.webhook_log."
ATTR_URL_FULL = "url.full"
ATTR_SERVER_ADDRESS = "server.address"

# Self-telemetry attributes
ATTR_SIGNAL = "otel_desk_receiver.signal"
ATTR_ERROR_TYPE = "error.type"  # why an entry was rejected, a request or a Desk read failed
# HTTP client semantic conventions (http.client.request.duration)
ATTR_HTTP_METHOD = "http.request.method"
ATTR_HTTP_STATUS = "http.response.status_code"
ATTR_HTTP_ROUTE = "url.template"
ATTR_SERVER_PORT = "server.port"

# The marker for a redacted value, in url.full (semantic conventions) and in any error text quoting a secret.
REDACTED = "REDACTED"

SETTLED_BY_STATUS = "status"
SETTLED_BY_AGE = "age"


@dataclass(frozen=True)
class MetricSpec:
    """One metric the receiver exports."""

    name: str
    instrument: str  # counter | gauge | histogram
    unit: str
    description: str
    attributes: tuple[str, ...]

    @property
    def prometheus_name(self) -> str:
        """The name Prometheus shows (OTLP -> Prometheus translation, with unit suffixes)."""
        base = self.name.replace(".", "_")
        suffix = {"s": "_seconds"}.get(self.unit, "")
        name = base + suffix
        if self.instrument == "counter":
            name += "_total"
        return name


WEBHOOK_LOGS = MetricSpec(
    "sendbird.desk.bot.webhook_logs", "counter", "{log}",
    "Webhook log entries settled, counted once the OTLP endpoint accepted their log records",
    (ATTR_APP_ID, ATTR_BOT_ID, ATTR_BOT_NAME, ATTR_WEBHOOK_LOG_STATUS),
)
WEBHOOK_LOGS_PENDING = MetricSpec(
    "sendbird.desk.bot.webhook_logs.pending", "gauge", "{log}",
    "Webhook log entries seen but not yet settled",
    (ATTR_APP_ID, ATTR_BOT_ID, ATTR_BOT_NAME),
)
UNREAD_ERROR = MetricSpec(
    "sendbird.desk.bot.unread_error", "gauge", "1",
    "The bot's isUnreadError flag: 1 while an unchecked error exists in its webhook logs",
    (ATTR_APP_ID, ATTR_BOT_ID, ATTR_BOT_NAME),
)
HTTP_CLIENT_DURATION = MetricSpec(
    "http.client.request.duration", "histogram", "s",
    "Duration of the receiver's requests to the Desk API",
    (ATTR_APP_ID, ATTR_HTTP_METHOD, ATTR_HTTP_STATUS, ATTR_HTTP_ROUTE, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT, ATTR_ERROR_TYPE),
)
LAG = MetricSpec(
    "otel_desk_receiver.lag", "gauge", "s",
    "Now minus createdAt of the newest entry read for the bot",
    (ATTR_APP_ID, ATTR_BOT_ID, ATTR_BOT_NAME),
)
POLL_DURATION = MetricSpec(
    "otel_desk_receiver.poll.duration", "histogram", "s",
    "Duration of one poll cycle over all bots of the app",
    (ATTR_APP_ID,),
)
EXPORT_FAILURES = MetricSpec(
    "otel_desk_receiver.export.failures", "counter", "{batch}",
    "OTLP exports that failed",
    (ATTR_SIGNAL,),
)
ENTRIES_REJECTED = MetricSpec(
    "otel_desk_receiver.entries.rejected", "counter", "{log}",
    "Webhook log entries skipped: malformed, or refused for themselves by the OTLP endpoint (error.type says which)",
    (ATTR_APP_ID, ATTR_BOT_ID, ATTR_ERROR_TYPE),
)

READ_FAILURES = MetricSpec(
    "otel_desk_receiver.read.failures", "counter", "{read}",
    "Desk reads that failed after their retries, per bot (none: the bot listing) and error.type",
    (ATTR_APP_ID, ATTR_BOT_ID, ATTR_ERROR_TYPE),
)
LAST_READ = MetricSpec(
    "otel_desk_receiver.read.last_success", "gauge", "s",
    "Unix time of the bot's last successful Desk read",
    (ATTR_APP_ID, ATTR_BOT_ID, ATTR_BOT_NAME),
)
# error.type of otel_desk_receiver.read.failures: what a Desk read failed on.
READ_ERROR_AUTH = "auth"  # 401/403: the token was rejected
READ_ERROR_NOT_FOUND = "not_found"  # 404: the bot is gone, or DESK_BOT_IDS names a bot that does not exist
READ_ERROR_RATE_LIMITED = "rate_limited"  # 429 after every retry
READ_ERROR_SERVER = "server_error"  # 5xx after every retry
READ_ERROR_UNREACHABLE = "unreachable"  # no answer: connection refused, reset or timed out
READ_ERROR_BAD_RESPONSE = "bad_response"  # an answer that cannot be used: malformed JSON, other 4xx, a redirect
READ_ERROR_TYPES = (READ_ERROR_AUTH, READ_ERROR_NOT_FOUND, READ_ERROR_RATE_LIMITED, READ_ERROR_SERVER,
                    READ_ERROR_UNREACHABLE, READ_ERROR_BAD_RESPONSE)

SWEEP_DURATION = MetricSpec(
    "otel_desk_receiver.sweep.duration", "gauge", "s",
    "The shortest time one poll of every watched bot of the app takes under its DESK_MAX_RPS (more than the poll "
    "interval: the budget cannot meet it)",
    (ATTR_APP_ID,),
)

# Leader election (ha/leadership.py)
ATTR_LEADER_CHANGE = "otel_desk_receiver.leader.change"  # acquired | lost
LEADER = MetricSpec(
    "otel_desk_receiver.leader", "gauge", "1",
    "The apps whose leader Lease this process holds and polls: 1 or 0 with one app, 0 while it stands by for "
    "every app (only with leader election)",
    (),
)
LEADER_CHANGES = MetricSpec(
    "otel_desk_receiver.leader.changes", "counter", "{change}",
    "Times this process acquired or lost the leader Lease (only with leader election)",
    (ATTR_LEADER_CHANGE,),
)

# The bot inventory (runtime/inventory.py, runtime/bot_changes.py): each bot listing as a gauge per bot, and each
# change between two listings as a log record of its own event (docs/bot-inventory.md).
ATTR_BOT_STATUS = "sendbird.desk.bot.status"  # as Desk gives it: ACTIVE, INACTIVE, PAUSED, PENDING or any other
ATTR_BOT_TYPE = "sendbird.desk.bot.type"  # CUSTOM (only CUSTOM bots are watched)
ATTR_BOT_TIMEOUT = "sendbird.desk.bot.timeout_seconds"  # Desk's timeoutSeconds (60 when absent)
ATTR_BOT_WEBHOOK_HOST = "sendbird.desk.bot.webhook_host"  # hostname[:port] of webhookUrl: never its path, query, user info
ATTR_BOT_CHANGE = "sendbird.desk.bot.change.kind"  # one of BOT_CHANGES
ATTR_BOT_CHANGE_FROM = "sendbird.desk.bot.change.from"  # the value before (status, webhook host, timeout)
ATTR_BOT_CHANGE_TO = "sendbird.desk.bot.change.to"  # the value after
BOT_CHANGE_EVENT_NAME = "sendbird.desk.bot.change"
BOT_ADDED = "added"
BOT_REMOVED = "removed"
BOT_STATUS_CHANGED = "status_changed"
BOT_WEBHOOK_HOST_CHANGED = "webhook_host_changed"
BOT_TIMEOUT_CHANGED = "timeout_changed"
BOT_UNREAD_ERROR_SET = "unread_error_set"
BOT_UNREAD_ERROR_CLEARED = "unread_error_cleared"
BOT_CHANGES = (BOT_ADDED, BOT_REMOVED, BOT_STATUS_CHANGED, BOT_WEBHOOK_HOST_CHANGED, BOT_TIMEOUT_CHANGED,
               BOT_UNREAD_ERROR_SET, BOT_UNREAD_ERROR_CLEARED)
BOT_STATE = MetricSpec(
    "sendbird.desk.bot.state", "gauge", "{bot}",  # not "1": translators would add _ratio to its name
    "1 for each bot of the last bot listing, its state as attributes; a removed bot has no point",
    (ATTR_APP_ID, ATTR_BOT_ID, ATTR_BOT_NAME, ATTR_BOT_STATUS, ATTR_BOT_TYPE, ATTR_BOT_TIMEOUT, ATTR_BOT_WEBHOOK_HOST),
)
BOT_CHANGE_ATTRIBUTES: tuple[str, ...] = (
    ATTR_APP_ID, ATTR_LOG_RECORD_UID, ATTR_BOT_ID, ATTR_BOT_NAME, ATTR_BOT_CHANGE, ATTR_BOT_CHANGE_FROM,
    ATTR_BOT_CHANGE_TO, ATTR_BOT_STATUS, ATTR_BOT_TYPE, ATTR_BOT_TIMEOUT, ATTR_BOT_WEBHOOK_HOST,
)

METRICS: tuple[MetricSpec, ...] = (
    WEBHOOK_LOGS, WEBHOOK_LOGS_PENDING, UNREAD_ERROR, HTTP_CLIENT_DURATION,
    LAG, POLL_DURATION, EXPORT_FAILURES, ENTRIES_REJECTED, READ_FAILURES, LAST_READ, SWEEP_DURATION,
    LEADER, LEADER_CHANGES, BOT_STATE,
)

LOG_ATTRIBUTES: tuple[str, ...] = (
    ATTR_APP_ID, ATTR_LOG_RECORD_UID, ATTR_BOT_ID, ATTR_BOT_NAME, ATTR_BOT_KEY,
    ATTR_WEBHOOK_LOG_ID, ATTR_WEBHOOK_LOG_STATUS, ATTR_SETTLED_BY, ATTR_URL_FULL, ATTR_SERVER_ADDRESS,
)


def prometheus_label(attribute: str) -> str:
    """The label name Prometheus gives an attribute (dots become underscores)."""
    return attribute.replace(".", "_")
