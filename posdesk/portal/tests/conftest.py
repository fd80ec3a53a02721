"""Fixtures for the portal's page tests: signed-in clients and real image bytes."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from PIL import Image


@pytest.fixture
def anonymous() -> Client:
    """An anonymous phone browser that reads English, so messages can be asserted by their msgid."""
    return Client(headers={"Accept-Language": "en"})


@pytest.fixture
def signed_in() -> Callable[[Any], Client]:
    def make(user: Any) -> Client:
        client = Client(headers={"Accept-Language": "en"})
        client.force_login(user)
        return client

    return make


@pytest.fixture
def merchant_client(world, signed_in) -> Client:
    return signed_in(world.merchant_user)


def png_bytes(size: tuple[int, int] = (8, 8), noise: bool = False) -> bytes:
    """A real PNG made with Pillow (noise makes it incompressible, hence large)."""
    image = Image.new("RGB", size, (200, 30, 30))
    if noise:
        import os

        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def png() -> Callable[..., bytes]:
    return png_bytes
