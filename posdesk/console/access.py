"""The console's one door: every page is for signed-in service staff only."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from posdesk.core.errors import NotFound, PermissionDenied

View = Callable[..., HttpResponse]


def forbidden(request: HttpRequest, message: str = "") -> HttpResponse:
    """The friendly 403 page (a merchant is pointed to the portal)."""
    return render(request, "console/forbidden.html", {"message": message}, status=403)


def staff_required(view: View) -> View:
    """Anonymous → the sign-in page (an htmx request is told to go there as a whole page);
    a signed-in non-staff user (a merchant) → 403; an object outside the user's access gate
    (NotFound) → 404, so its existence is not told."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            if getattr(request, "htmx", False):
                target = request.htmx.current_url_abs_path or reverse("console:queue")
                login_url = reverse(settings.LOGIN_URL)
                return HttpResponse(
                    status=204, headers={"HX-Redirect": f"{login_url}?{urlencode({'next': target})}"}
                )
            return redirect_to_login(request.get_full_path())
        if not user.is_active or not user.is_staff_role:
            return forbidden(request)
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(str(exc.message)) from exc
        except PermissionDenied as exc:
            return forbidden(request, str(exc.message))

    return wrapper
