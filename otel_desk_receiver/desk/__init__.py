"""The receiver's only door to the Desk API."""

from otel_desk_receiver.desk.client import DeskClient, Page, RequestInfo, RetryInfo
from otel_desk_receiver.desk.models import Bot, MalformedEntryError, WebhookLog, parse_bot, parse_webhook_log
from otel_desk_receiver.desk.throttle import RateLimiter, RetryPolicy

__all__ = [
    "Bot", "DeskClient", "MalformedEntryError", "Page", "RateLimiter", "RequestInfo", "RetryInfo",
    "RetryPolicy", "WebhookLog", "parse_bot", "parse_webhook_log",
]
