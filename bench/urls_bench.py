"""The product's URLs plus `/bench/bare`: a bare Django JSON view that goes through the same
middleware stack, so the difference to the product's endpoints is the product's own work."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from config.urls import urlpatterns as product_urlpatterns


def bare(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare", bare, name="bench-bare"), *product_urlpatterns]
