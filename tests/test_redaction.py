"""redaction: every secret held is masked in log lines and in printed output, a logged value's control
characters cannot start a line, and the identity of a Desk never carries user info."""

import io
import logging
import threading

import pytest

from otel_desk_receiver.redaction import (
    RedactingFilter,
    RedactingStream,
    environment_secrets,
    escape_controls,
    held_secrets,
    hold,
    hold_user_info,
    redact_text,
    without_user_info,
)


def test_a_held_secret_is_masked_anywhere_and_a_short_one_only_as_a_word():
    assert redact_text("got tok-3b1f-long-one and xtok-3b1f-long-onex", ["tok-3b1f-long-one"]) == \
        "got REDACTED and xREDACTEDx"
    assert redact_text("abc, abcdef, abc.", ["abc"]) == "REDACTED, abcdef, REDACTED."
    assert redact_text("see https://u:p4ss@h/x", []) == "see https://REDACTED@h/x"


def test_hold_keeps_the_credential_of_a_scheme_value_and_the_decoded_form():
    hold("Bearer%20held-bearer-91c2", "Basic aGVsZC1iYXNpYw==")
    secrets = held_secrets()
    assert {"Bearer held-bearer-91c2", "held-bearer-91c2", "aGVsZC1iYXNpYw=="} <= set(secrets)
    assert redact_text("401: token held-bearer-91c2 refused", secrets) == "401: token REDACTED refused"


def test_user_info_of_a_url_is_held():
    hold_user_info("https://held-user:held-pa55-x@desk.example.com/platform/v1")
    assert redact_text("rejected held-pa55-x for held-user", held_secrets()) == "rejected REDACTED for REDACTED"


def test_environment_secrets_cover_headers_and_endpoint_user_info():
    env = {"DESK_API_TOKEN": "t0k", "OTEL_EXPORTER_OTLP_LOGS_HEADERS": "a=b%20c,d=e",
           "OTEL_EXPORTER_OTLP_ENDPOINT": "https://otlp-user:otlp%21pw@collector:4318", "OTHER": "x"}
    assert set(environment_secrets(env)) == {"t0k", "b%20c", "b c", "c", "e", "otlp!pw"}


def test_an_authorization_header_in_the_environment_masks_its_credential_alone():
    """An endpoint echoing only the credential of 'Authorization=Bearer x' (without 'Bearer ') is masked too,
    as hold() does for the headers file (the status page showed such an echo unmasked)."""
    env = {"OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20hdr-secret-91c2"}
    assert redact_text("your header was hdr-secret-91c2", environment_secrets(env)) == "your header was REDACTED"


@pytest.mark.parametrize(("value", "expected"), [
    ("http://u:p@h:1/x", "http://h:1/x"), ("u:p@127.0.0.1:8080", "127.0.0.1:8080"), ("app-1", "app-1"),
    ("https://h/x", "https://h/x"), ("http://[::1]:80/x", "http://[::1]:80/x"),
])
def test_without_user_info(value, expected):
    assert without_user_info(value) == expected


def test_controls_are_escaped():
    assert escape_controls("a\nb\r\x1b[2J\tc") == "a\\nb\\r\\x1b[2J\tc"


def test_the_log_filter_masks_and_escapes_the_message_but_keeps_a_traceback_whole():
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "bot %s said %s", ("evil\nFORGED", "sekret-4a"),
                               None)
    assert RedactingFilter(lambda: ["sekret-4a"]).filter(record)
    assert record.getMessage() == "bot evil\\nFORGED said REDACTED"
    try:
        raise ValueError("sekret-4a")
    except ValueError as error:
        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), (type(error), error,
                                                                                     error.__traceback__))
    RedactingFilter(lambda: ["sekret-4a"]).filter(failed)
    assert "ValueError: REDACTED" in failed.exc_text and "\n" in failed.exc_text


def test_the_stream_masks_whole_lines_even_when_a_secret_comes_in_pieces():
    hold("piecewise-secret-3")
    out = io.StringIO()
    stream = RedactingStream(out)
    stream.write("a piecewise-")
    assert out.getvalue() == ""  # held until the line ends
    stream.write("secret-3 line\nnext ")
    stream.flush()
    assert out.getvalue() == "a REDACTED line\nnext "


def test_the_stream_takes_a_write_from_within_a_write():
    """A signal handler that logs runs between two bytecodes of the main thread, maybe inside a write
    (run's SIGTERM handler does): the stream must take that write, not wait on itself for ever."""
    lines: list[str] = []

    class Underlying(io.StringIO):
        def write(self, text):
            lines.append(text)
            if len(lines) == 1:
                stream.write("from the handler\n")
            return len(text)

    stream = RedactingStream(Underlying())
    writer = threading.Thread(target=stream.write, args=("first line\n",), daemon=True)
    writer.start()
    writer.join(timeout=5)
    assert not writer.is_alive()
    assert lines == ["first line\n", "from the handler\n"]
