"""Liveness and readiness probes."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client

from posdesk.core import views


def test_healthz_answers_ok_without_touching_the_database():
    # no django_db mark: pytest-django would fail this test on any database access
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_the_database_and_the_queue():
    response = Client().get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "queue": "ok"}


@pytest.mark.django_db
def test_readyz_reaches_the_real_broker_when_jobs_are_not_run_inline(settings):
    # the embedded default broker is the filesystem transport: a real queue that needs no server
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["queue"] == "ok"


class _BrokenConnection:
    def cursor(self):
        raise OperationalError("could not connect to server: Connection refused")


@pytest.mark.django_db
def test_readyz_answers_503_when_the_database_is_down(monkeypatch):
    monkeypatch.setattr(views, "connection", _BrokenConnection())
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"].startswith("OperationalError: could not connect")
    assert body["checks"]["queue"] == "ok"


@pytest.mark.django_db
def test_readyz_answers_503_when_the_queue_is_down(monkeypatch, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(views, "_check_queue", lambda: "OperationalError: broker unreachable")
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "queue": "OperationalError: broker unreachable"}
