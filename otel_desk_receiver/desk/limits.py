"""What Desk allows a reader to ask for (desk-api.md); every bound of ours on a request comes from here."""

MAX_PAGE_SIZE = 500  # "Lists and pagination": limit is 1..500; other values are never sent
RETENTION_DAYS = 30  # "Dates": Desk keeps about 30 days; never ask for more
