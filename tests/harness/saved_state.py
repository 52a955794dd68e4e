"""A saved state document as tests read it: the section of its one Desk app (state/document.py, version 4)."""


def app_section(document: dict) -> dict:
    """The one app's section of a parsed state document ({"desk": ..., "bots": {...}}), the document's own
    object (edit it to edit the document); an assertion error when it holds several apps or none."""
    if document.get("version", 0) < 4:
        return document  # versions 1-3 held one app, at the top
    [section] = document["apps"].values()
    return section
