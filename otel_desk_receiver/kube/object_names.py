"""per_app_name: the name of one app's Kubernetes object (its Lease, its state ConfigMap) from a base name.

Kubernetes names these objects with a DNS-1123 subdomain of at most 253 characters: lowercase letters,
digits, '-' and '.'. An app's label (its app_id, else its API host[:port]) may hold upper case, ':' or
be long, so the name carries a slug of it (lowercase, every other character a '-'), and, when the slug
is not the label itself, is cut to fit, or itself ends as a hash does ('-' and 8 hex digits), the first 8 hex
digits of the label's SHA-256: two labels that slug alike (``App-1``, ``app_1``), or a label shaped like another's
hashed name (``a-559aead0``, ``A``'s), never share an object, and a name never changes between releases.
"""

import hashlib
import re

MAX_NAME_LENGTH = 253  # a DNS-1123 subdomain (ConfigMaps and Leases)
HASH_LENGTH = 8
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_HASH_SHAPED = re.compile(rf"-[0-9a-f]{{{HASH_LENGTH}}}")  # how a hashed name ends: a plain one never does


def per_app_name(base: str, label: str) -> str:
    """``<base>-<slug>``, or ``<base>-<slug>-<hash>`` when the slug differs from ``label``, is cut, or ends as a
    hash does; valid whenever ``base`` is (a DNS-1123 subdomain, as the settings accept it)."""
    slug = _NOT_SLUG.sub("-", label.lower()).strip("-")
    plain = f"{base}-{slug}"
    if slug == label and len(plain) <= MAX_NAME_LENGTH and not _HASH_SHAPED.fullmatch(plain[-HASH_LENGTH - 1:]):
        return plain
    digest = hashlib.sha256(label.encode("utf-8")).hexdigest()[:HASH_LENGTH]
    head = plain.rstrip("-")[:MAX_NAME_LENGTH - HASH_LENGTH - 1].rstrip("-.")
    return f"{head}-{digest}"
