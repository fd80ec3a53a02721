"""Liveness and readiness probes (SPEC §6)."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure
        return f"{type(exc).__name__}: {exc}"
    return None


def _check_queue() -> str | None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    return None


def readyz(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    checks = {"database": _check_database(), "queue": _check_queue()}
    ok = all(v is None for v in checks.values())
    if not ok:
        logger.warning("not ready", extra={"checks": checks})
    return JsonResponse(
        {
            "status": "ok" if ok else "unavailable",
            "checks": {name: ("ok" if err is None else err) for name, err in checks.items()},
            "ms": round((time.perf_counter() - started) * 1000, 1),
        },
        status=200 if ok else 503,
    )


def home(request: HttpRequest) -> HttpResponse:
    """Send each person to their own front door: staff to the console, merchants to the portal."""
    user = request.user
    if user.is_authenticated and getattr(user, "role", "") != "merchant":
        return redirect("console:queue")
    return redirect("portal:home")


def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Unknown paths under the API answer in the API's error shape, not with an HTML page."""
    from django.utils.translation import gettext

    return JsonResponse(
        {"code": "not_found", "message": gettext("There is no such API operation."), "detail": {"path": request.path}},
        status=404,
    )
