"""per_app_name: one Kubernetes object name per app, valid, short enough, stable and distinct per label."""

import re

import pytest

from otel_desk_receiver.kube.object_names import MAX_NAME_LENGTH, per_app_name

DNS_1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@pytest.mark.parametrize("base, label, expected", [
    ("otel-desk-receiver-leader", "eu1", "otel-desk-receiver-leader-eu1"),
    ("state", "app-7", "state-app-7"),
    ("state", "6B0C1A2E-AAAA", "state-6b0c1a2e-aaaa-"),  # upper case: changed, so a hash follows
    ("state", "desk.example.com:8443", "state-desk-example-com-8443-"),
    ("state", "--", "state-"),  # nothing of the label survives: the hash alone
], ids=["slug-is-the-label", "hyphen-kept", "upper-case", "host-and-port", "no-letters"])
def test_the_name_is_the_base_and_the_slug_with_a_hash_when_the_slug_is_not_the_label(base, label, expected):
    name = per_app_name(base, label)
    if expected.endswith("-"):
        assert name.startswith(expected) and re.fullmatch(r"[0-9a-f]{8}", name[len(expected):]), name
    else:
        assert name == expected
    assert DNS_1123_SUBDOMAIN.match(name)


def test_labels_that_slug_alike_get_different_names():
    names = {per_app_name("state", label) for label in ("App-1", "app-1", "APP-1", "app_1", "app.1", "app:1")}
    assert len(names) == 6


def test_the_same_label_gets_the_same_name_every_time():
    assert per_app_name("lease", "Desk.Example.com") == per_app_name("lease", "Desk.Example.com")


@pytest.mark.parametrize("base_length, label", [
    (20, "a" * 300), (250, "eu1"), (253, "eu1"), (100, "A" * 200), (200, "x" * 52 + "-" + "y" * 10),
], ids=["long-label", "long-base", "base-at-limit", "long-upper-label", "cut-at-a-hyphen"])
def test_a_name_too_long_is_cut_to_the_limit_and_keeps_a_hash(base_length, label):
    base = ("b" * (base_length - 1)) + "z"
    name = per_app_name(base, label)
    assert len(name) <= MAX_NAME_LENGTH
    assert DNS_1123_SUBDOMAIN.match(name), name
    assert re.fullmatch(r".*-[0-9a-f]{8}", name)
    assert per_app_name(base, label + "b") != name


def test_a_base_with_dots_stays_valid():
    name = per_app_name("receiver.desk", "eu.1")
    assert DNS_1123_SUBDOMAIN.match(name) and name.startswith("receiver.desk-eu-1-")


def test_a_label_shaped_like_another_labels_hashed_name_gets_its_own_name():
    # 'A' slugs to 'a' and takes a hash: 'state-a-<hash>'. A label that is exactly 'a-<hash>' (an app_id, or an
    # API host) is its own slug: without a hash of its own, both apps would share one ConfigMap and one Lease.
    hashed = per_app_name("state", "A")
    lookalike = hashed[len("state-"):]
    assert per_app_name("state", lookalike) != hashed
    assert DNS_1123_SUBDOMAIN.match(per_app_name("state", lookalike))
