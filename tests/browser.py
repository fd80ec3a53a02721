"""Helpers for the browser tests."""

import os


def snap(page, name: str) -> None:
    """POSDESK_SCREENSHOTS=<dir> keeps a picture of a step for a person to look at."""
    folder = os.environ.get("POSDESK_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)
