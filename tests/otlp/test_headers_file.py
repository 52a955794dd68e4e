"""DESK_OTLP_HEADERS_FILE: headers from a mounted file reach the real OTLP sink on every request, over
both protocols, and a rotated file is used without a restart; a bad file is exit 2 naming the variable."""

import json
import os

import pytest

from otel_desk_receiver.errors import ConfigError
from otel_desk_receiver.otlp import headers_file
from otel_desk_receiver.otlp.headers_file import HeadersFile, parse_headers
from tests.harness.fixtures.otlp import PROTOCOLS
from tests.harness.receiver import make_receiver


@pytest.fixture(autouse=True)
def no_headers_file_left():
    yield
    headers_file.use(None)


def rotate(path, text):
    """As the kubelet does: a new file swapped in (a new inode)."""
    fresh = path.with_name(path.name + ".new")
    fresh.write_text(text)
    os.replace(fresh, path)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_headers_from_the_file_reach_the_endpoint_and_follow_a_rotation(desk_emulator, otlp_sink, otlp_env,
                                                                       state_path, tmp_path, protocol):
    otlp_env(otlp_sink, protocol, OTEL_EXPORTER_OTLP_HEADERS="x-tenant=from-env,x-other=kept")
    secret = tmp_path / "headers"
    secret.write_text("x-tenant=acme,authorization=Basic%20c2VjcmV0\n")
    bot = desk_emulator.add_bot(name="headed")
    desk_emulator.add_entries(bot["id"], 3, statuses=("RECEIVED",))
    receiver = make_receiver(desk_emulator, state_path, backfill_days=1, otlp_headers_file=secret)
    try:
        assert receiver.run_once().exported == 3
        first = [r.headers for r in otlp_sink.requests("logs")]
        rotate(secret, "x-tenant=globex,authorization=Basic%20bmV3")
        desk_emulator.add_entries(bot["id"], 2, statuses=("ERROR",), start=desk_emulator.clock.now(), spacing_s=0.1)
        desk_emulator.clock.advance(1)
        assert receiver.run_once().exported == 2
        after = [r.headers for r in otlp_sink.requests("logs")][len(first):]
    finally:
        receiver.close()
    assert first and all(h["x-tenant"] == "acme" and h["authorization"] == "Basic c2VjcmV0" for h in first)
    assert all(h["x-other"] == "kept" for h in first)  # the variable's other headers still go
    assert after and all(h["x-tenant"] == "globex" and h["authorization"] == "Basic bmV3" for h in after)


BAD = [
    ("missing file", None, "DESK_OTLP_HEADERS_FILE: file not found: {path}"),
    ("not key=value", "x-tenant", "DESK_OTLP_HEADERS_FILE: {path}: pair 1 is not key=value"),
    ("empty key", "=v", "DESK_OTLP_HEADERS_FILE: {path}: pair 1 is not key=value"),
    ("CR LF in a value", "x-tenant=acme\r\nx-injected: yes",
     "DESK_OTLP_HEADERS_FILE: {path}: pair 1 holds a control character (CR, LF...), which no header value may"),
    ("encoded CR LF in a value", "a=1,x-tenant=acme%0D%0Ax-injected: yes",
     "DESK_OTLP_HEADERS_FILE: {path}: pair 2 holds a control character (CR, LF...), which no header value may"),
    ("not a header name", "x(tenant)=acme", "DESK_OTLP_HEADERS_FILE: {path}: pair 1 is not key=value"),
]


@pytest.mark.parametrize(("content", "line"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_an_unusable_file_is_one_line_naming_the_variable_never_the_values(tmp_path, content, line):
    path = tmp_path / "headers"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        HeadersFile(path)
    assert caught.value.problems == [line.format(path=path)]


def test_a_file_broken_mid_rotation_keeps_the_last_good_headers(tmp_path, caplog):
    path = tmp_path / "headers"
    path.write_text("k=secret-one")
    source = HeadersFile(path)
    rotate(path, "garbage without equals")
    assert source() == {"k": "secret-one"}
    assert "keeping the previous headers" in caplog.text and "secret-one" not in caplog.text


def test_the_format_is_the_variables():
    assert parse_headers("a=1, b = x%2Cy ,c=", "f") == {"a": "1", "b": "x,y", "c": ""}
    assert json.dumps(parse_headers("", "f")) == "{}"
