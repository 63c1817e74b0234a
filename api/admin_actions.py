"""Admin actions that change state: POST-only, behind Unfold's confirmation dialog.

An Unfold action opened by its URL runs on a GET unless it has a dialog; a link in an email or on
another site would then act with a signed-in staff member's session. With a dialog, a GET shows
the question and only the dialog's POST (with its CSRF token) runs the action:

    @action(description="Cancel", url_path="cancel", permissions=["change"],
            dialog=confirm("Cancel this order?", "Its stock returns.", "Cancel the order"))
    def cancel_one(self, request, form, object_id):
        ...
        return after_dialog(request, reverse("admin:orders_order_change", args=[object_id]))
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from unfold.dataclasses import ActionDialog


def confirm(
    title: str, description: str, submit: str, form_class: type[forms.Form] | None = None
) -> ActionDialog:
    return ActionDialog(
        title=title, description=description, form_class=form_class, form_submit_text=submit
    )


def after_dialog(request: HttpRequest, page: str) -> HttpResponse:
    """Back to `page` once the dialog's POST ran the action."""
    if request.headers.get("HX-Request"):
        # The dialog posts through htmx, which would follow a redirect inside its request: the
        # dialog would stay open and the message be spent. HX-Redirect loads the page instead.
        return HttpResponse(headers={"HX-Redirect": page})
    return HttpResponseRedirect(page)
