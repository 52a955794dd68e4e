"""runtime/watched.py: what the poller publishes is what readers on other threads read."""

from otel_desk_receiver.desk.models import Bot
from otel_desk_receiver.runtime.watched import WatchedBots


def bot(bot_id: int, name: str) -> Bot:
    return Bot(id=bot_id, name=name, key=None, type="CUSTOM", status="ACTIVE", timeout_s=10.0,
               is_unread_error=False, webhook_url=None, raw={})


def test_readers_see_the_last_list_published_and_none_before_the_first():
    watched = WatchedBots()
    assert watched.bots() == [] and watched.ids_and_names() == []
    listing = [bot(1, "one"), bot(2, "two")]
    watched.publish(listing)
    listing.append(bot(3, "three"))  # the poller's own list, changed after publishing: not seen
    assert watched.ids_and_names() == [(1, "one"), (2, "two")]
    watched.publish([bot(2, "two")])
    assert [b.id for b in watched.bots()] == [2]


def test_each_observer_sees_each_list_published_after_it_subscribed():
    watched = WatchedBots()
    watched.publish([bot(1, "one")])
    seen: list[list[int]] = []
    watched.subscribe(lambda bots: seen.append([b.id for b in bots]))
    watched.publish([bot(1, "one"), bot(2, "two")])
    watched.publish([])
    assert seen == [[1, 2], []]
