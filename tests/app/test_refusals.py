"""TokenRefusals: an app is refused from Desk's refusal of its token until Desk accepts one of its requests; the
run ends only when every app is refused, with one line per app."""

from otel_desk_receiver.app.refusals import TokenRefusals


def test_the_run_ends_only_when_every_app_is_refused():
    refusals = TokenRefusals(["eu", "us", "ap"])
    assert refusals.refused("ap", "app ap: refused") is False
    assert refusals.refused("eu", "app eu: refused") is False
    assert refusals.is_refused("ap") and not refusals.is_refused("us")
    assert refusals.refused("us", "app us: refused") is True
    assert str(refusals.error()).splitlines() == ["Desk rejected the API token of every app:", "app eu: refused",
                                                  "app us: refused", "app ap: refused"]  # in the apps' order


def test_an_app_whose_token_is_accepted_again_is_no_longer_refused():
    refusals = TokenRefusals(["eu", "us"])
    refusals.refused("eu", "app eu: refused")
    refusals.accepted("eu")  # its token file was fixed, say
    assert refusals.refused("us", "app us: refused") is False and not refusals.all_refused()


def test_one_app_alone_ends_with_its_own_line_as_before():
    refusals = TokenRefusals(["127.0.0.1:9"])
    assert refusals.refused("127.0.0.1:9", "GET /bots: HTTP 401: Desk rejected the API token") is True
    assert str(refusals.error()) == "GET /bots: HTTP 401: Desk rejected the API token"
