"""Who may use the merchant portal: signed-in users with the merchant role. What each of them
may see is decided afterwards by the access gates of the tickets, terminals and merchants."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from posdesk.accounts.models import Role

View = Callable[..., HttpResponse]


def merchant_required(view: View) -> View:
    """Anonymous → the portal sign-in (302, or an HX-Redirect for htmx requests, coming back to
    the page they were on); a staff role → 403 with a pointer to the console."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            login_url = reverse("portal:login")
            htmx = getattr(request, "htmx", None)
            if htmx:
                back_to = htmx.current_url_abs_path or reverse("portal:home")
                return HttpResponseClientRedirect(f"{login_url}?{urlencode({'next': back_to})}")
            return redirect_to_login(request.get_full_path(), login_url)
        if user.role != Role.MERCHANT:
            return render(request, "portal/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper
