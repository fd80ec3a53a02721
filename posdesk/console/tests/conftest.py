"""Fixtures for the console's page tests: a signed-in browser-like client per user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def console() -> Callable[..., Client]:
    """console(user) → a test client with that user's session (None: anonymous)."""

    def make(user: Any = None, language: str | None = None) -> Client:
        client = Client(headers={"Accept-Language": language} if language else {})
        if user is not None:
            client.force_login(user)
        return client

    return make
