"""Content admin (Unfold): pages, banners, the homepage's sections, menus, the footer and the
guarantees. Rows and inlines are ordered by dragging (Unfold's `ordering_field`); publishing is
a bulk action and a detail action behind a confirmation (api/admin_actions.py); the homepage's
preview shows the JSON the API answers, at any instant (scheduled banners included).

Forms save with Django's own save (full_clean, the database constraints, rich text sanitised by
its field); every save or delete announces the change in its transaction (ContentAdmin), so the
public answers are rebuilt once it commits."""

from __future__ import annotations

import json
from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.forms.widgets import WysiwygWidget
from unfold.decorators import action, display

from api.admin_actions import after_dialog, confirm
from cms import answers, services
from cms.models import (
    Banner,
    Footer,
    FooterColumn,
    Guarantee,
    HomepageSection,
    HomepageSectionCategory,
    HomepageSectionProduct,
    Menu,
    MenuItem,
    Page,
)
from cms.richtext import RichTextField

RICH_TEXT = {RichTextField: {"widget": WysiwygWidget}}


class ContentAdmin(ModelAdmin):
    """Saves and deletes announce the change (cms/services.content_saved) in their transaction."""

    formfield_overrides = RICH_TEXT

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.content_saved()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.content_saved()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        services.content_saved()


class PublishActions:
    """Publish / unpublish, for the selected rows and on a row's own page."""

    actions = ["publish", "unpublish"]
    actions_detail = ["publish_one", "unpublish_one"]

    def _publish(self, request, ids, published: bool) -> None:
        label = self.model._meta.label_lower
        changed = services.content_publish(model=label, ids=ids, published=published)
        verb = "published" if published else "unpublished"
        self.message_user(request, f"{changed} {verb}.", messages.SUCCESS)

    @action(description="Publish", permissions=["change"])
    def publish(self, request: HttpRequest, queryset):
        self._publish(request, list(queryset.values_list("pk", flat=True)), True)

    @action(description="Unpublish", permissions=["change"])
    def unpublish(self, request: HttpRequest, queryset):
        self._publish(request, list(queryset.values_list("pk", flat=True)), False)

    def _page(self, object_id) -> str:
        meta = self.model._meta
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[object_id])

    @action(
        description="Publish",
        url_path="publish",
        permissions=["change"],
        dialog=confirm("Publish this?", "The storefront shows it at once.", "Publish"),
    )
    def publish_one(self, request: HttpRequest, form, object_id):
        self._publish(request, [int(object_id)], True)
        return after_dialog(request, self._page(object_id))

    @action(
        description="Unpublish",
        url_path="unpublish",
        permissions=["change"],
        dialog=confirm("Unpublish this?", "The storefront stops showing it at once.", "Unpublish"),
    )
    def unpublish_one(self, request: HttpRequest, form, object_id):
        self._publish(request, [int(object_id)], False)
        return after_dialog(request, self._page(object_id))


@admin.register(Page)
class PageAdmin(PublishActions, ContentAdmin):
    list_display = ["title", "slug", "is_published", "updated_at"]
    list_filter = ["is_published"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    fields = ["title", "slug", "summary", "body", "is_published"]


@admin.register(Banner)
class BannerAdmin(PublishActions, ContentAdmin):
    list_display = ["title", "placement", "window", "state", "is_published"]
    list_filter = ["placement", "is_published"]
    search_fields = ["title", "subtitle"]
    ordering = ["placement", "position", "id"]
    ordering_field = "position"
    hide_ordering_field = True
    fieldsets = [
        (None, {"fields": ["placement", "title", "subtitle", "link_url", "cta_label"]}),
        ("Image", {"fields": ["image", "image_alt"]}),
        (
            "Schedule",
            {
                "fields": ["starts_at", "ends_at", "is_published"],
                "description": "Shown only between the start and the end (empty: no limit); "
                "the storefront changes at those instants with no deploy or save.",
            },
        ),
    ]

    @display(description="Window")
    def window(self, obj: Banner) -> str:
        start = (
            timezone.localtime(obj.starts_at).strftime("%Y-%m-%d %H:%M") if obj.starts_at else "now"
        )
        end = timezone.localtime(obj.ends_at).strftime("%Y-%m-%d %H:%M") if obj.ends_at else "open"
        return f"{start} → {end}"

    @display(
        description="State",
        label={"Live": "success", "Scheduled": "info", "Ended": "warning", "Draft": "danger"},
    )
    def state(self, obj: Banner) -> str:
        now = timezone.now()
        if not obj.is_published:
            return "Draft"
        if obj.starts_at and obj.starts_at > now:
            return "Scheduled"
        if obj.ends_at and obj.ends_at <= now:
            return "Ended"
        return "Live"


class SectionCategoryInline(TabularInline):
    model = HomepageSectionCategory
    extra = 0
    autocomplete_fields = ["category"]
    ordering_field = "position"
    hide_ordering_field = True
    verbose_name_plural = "Featured categories (categories sections)"


class SectionProductInline(TabularInline):
    model = HomepageSectionProduct
    extra = 0
    autocomplete_fields = ["product"]
    ordering_field = "position"
    hide_ordering_field = True
    verbose_name_plural = "Hand-picked products (carousels chosen by hand)"


@admin.register(HomepageSection)
class HomepageSectionAdmin(PublishActions, ContentAdmin):
    list_display = ["__str__", "kind", "summary", "is_published"]
    list_filter = ["kind", "is_published"]
    ordering = ["position", "id"]
    ordering_field = "position"
    hide_ordering_field = True
    autocomplete_fields = ["category"]
    inlines = [SectionCategoryInline, SectionProductInline]
    list_before_template = "admin/cms/homepagesection/preview_link.html"
    fieldsets = [
        (None, {"fields": ["kind", "title", "subtitle", "is_published"]}),
        ("Banners", {"fields": ["placement"]}),
        ("Product carousel", {"fields": ["rule", "category", "product_limit"]}),
        ("Text", {"fields": ["body"]}),
    ]

    @display(description="Shows")
    def summary(self, obj: HomepageSection) -> str:
        if obj.kind == "banners":
            return f"{obj.get_placement_display()} banners"
        if obj.kind == "products":
            where = f" in {obj.category}" if obj.category_id else ""
            return f"{obj.get_rule_display()}{where}, up to {obj.product_limit}"
        if obj.kind == "categories":
            return "Chosen categories"
        return "Text"

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [path("preview/", preview, name="cms_homepage_preview"), *super().get_urls()]

    def preview_view(self, request: HttpRequest):
        """The homepage's JSON as the API answers it now, or at the instant asked for."""
        form = PreviewForm(request.GET or None)
        at = timezone.now()
        if form.is_valid() and form.cleaned_data["at"]:
            at = form.cleaned_data["at"]
        body = json.loads(answers.homepage_preview(at))
        context = {
            **self.admin_site.each_context(request),
            "title": "Homepage preview",
            "opts": self.model._meta,
            "form": form,
            "at": at,
            "sections": body["sections"],
            "json": json.dumps(body, indent=2, ensure_ascii=False),
        }
        return TemplateResponse(request, "admin/cms/homepagesection/preview.html", context)


class PreviewForm(forms.Form):
    at = forms.DateTimeField(
        required=False,
        label="As at",
        help_text="Empty: now. A later instant shows the banners scheduled for it.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )

    def clean_at(self) -> datetime | None:
        at = self.cleaned_data["at"]
        if at is not None and timezone.is_naive(at):
            at = timezone.make_aware(at)
        return at


class MenuItemInline(TabularInline):
    model = MenuItem
    fk_name = "menu"
    extra = 0
    fields = ["label", "kind", "category", "page", "url", "parent", "is_published"]
    autocomplete_fields = ["category"]
    ordering_field = "position"
    hide_ordering_field = True

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "parent":
            # Only items of the menu on the page can be a parent.
            menu_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = MenuItem.objects.filter(menu_id=menu_id or 0)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Menu)
class MenuAdmin(ContentAdmin):
    list_display = ["title", "slug", "item_count", "updated_at"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [MenuItemInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(items_total=models.Count("items"))

    @display(description="Links", ordering="items_total")
    def item_count(self, obj: Menu) -> int:
        return obj.items_total


class FooterColumnInline(TabularInline):
    model = FooterColumn
    extra = 0
    ordering_field = "position"
    hide_ordering_field = True
    verbose_name_plural = "Columns (each a menu)"


@admin.register(Footer)
class FooterAdmin(ContentAdmin):
    list_display = ["__str__", "copyright", "updated_at"]
    fields = ["text", "copyright"]
    inlines = [FooterColumnInline]

    def has_add_permission(self, request) -> bool:
        return not Footer.objects.exists()  # one footer

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Guarantee)
class GuaranteeAdmin(PublishActions, ContentAdmin):
    list_display = ["title", "kind", "text", "is_published"]
    list_filter = ["kind", "is_published"]
    ordering = ["position", "id"]
    ordering_field = "position"
    hide_ordering_field = True
    fields = ["kind", "title", "text", "link_url", "is_published"]
