"""http_sender.py: the endpoint's Retry-After read as RFC 9110 says, and a redirect answered, not followed."""

from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import pytest
import requests

from otel_desk_receiver.otlp.answer import Kind
from otel_desk_receiver.otlp.http_sender import _retry_after_s
from otel_desk_receiver.otlp.sender import build_sender
from tests.harness.entries import logs_request as request

PAST = format_datetime(datetime.now(timezone.utc) - timedelta(hours=1), usegmt=True)
RETRY_AFTER = [
    ("seconds", "2", 2.0),
    ("a fraction", "0.5", 0.5),
    ("negative is now", "-3", 0.0),
    ("an HTTP date passed is now", PAST, 0.0),
    ("not a number or a date", "soon", None),
    ("infinite", "inf", None),
    ("absent", None, None),
]


@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in RETRY_AFTER], ids=[c[0] for c in RETRY_AFTER])
def test_retry_after(value, expected):
    response = requests.Response()
    if value is not None:
        response.headers["Retry-After"] = value
    assert _retry_after_s(response) == expected


def test_an_http_date_ahead_is_the_time_until_it():
    response = requests.Response()
    response.headers["Retry-After"] = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=120), usegmt=True)
    assert 100 < _retry_after_s(response) <= 120


def test_a_redirect_is_answered_not_followed(otlp_sink, otlp_env):
    otlp_env(otlp_sink, "http/protobuf")
    otlp_sink.impersonate_next(1, "redirect", status=307, location="https://elsewhere.invalid/v1/logs")
    sender = build_sender("logs")
    try:
        answer = sender.send(request())
    finally:
        sender.close()
    assert answer.kind is Kind.FAILED and "redirect to https://elsewhere.invalid/v1/logs, not followed" in answer.reason
