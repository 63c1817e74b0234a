"""The admin's login, under the API's limits on failed sign-ins (api/ratelimit.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from api import ratelimit
from api.errors import ApiError, RateLimited
from api.ratelimit import client_ip


@never_cache
@login_not_required
def admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """admin.site.login, with failed POSTs counted per IP and per email in the API's counters.

    A limited caller gets the form again with a 429 and Retry-After, and no password check.
    """
    if request.method != "POST":
        return admin.site.login(request, extra_context)
    username = request.POST.get("username", "")
    try:
        attempt = ratelimit.enforce("login_failure", ip=client_ip(request), email=username)
    except ApiError as error:  # 429, or 503 without Redis: refused like the API's sign-in
        return _refused(request, error, username=username)
    response = admin.site.login(request, extra_context)
    if response.status_code == 302 and request.user.is_authenticated:
        attempt.release()  # only failed attempts count
    return response


def _refused(request: HttpRequest, error: ApiError, *, username: str) -> HttpResponse:
    """The login page again, with the reason and the error's status and headers."""
    if isinstance(error, RateLimited):
        wait = error.details.get("retry_after", 60)
        messages.error(request, f"Too many failed sign-ins; try again in {wait} seconds.")
    else:
        messages.error(request, error.message)
    form_class = admin.site.login_form or AdminAuthenticationForm
    context = {
        **admin.site.each_context(request),
        "title": _("Log in"),
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
        "form": form_class(request, initial={"username": username}),
        REDIRECT_FIELD_NAME: request.POST.get(REDIRECT_FIELD_NAME)
        or request.GET.get(REDIRECT_FIELD_NAME)
        or reverse("admin:index", current_app=admin.site.name),
    }
    request.current_app = admin.site.name
    return TemplateResponse(
        request,
        admin.site.login_template or "admin/login.html",
        context,
        status=error.status,
        headers=error.headers,
    )
