"""What Desk allows a reader to ask for (docs/desk-api.md); every bound of ours on a request comes from here."""

MAX_PAGE_SIZE = 500  # docs/desk-api.md#lists-and-pagination: limit is 1..500; other values are never sent
RETENTION_DAYS = 30  # docs/desk-api.md#dates-time-zones-and-retention: Desk keeps about 30 days; never ask for more
