"""Merchant tuning (Unfold): synonym sets, and the report of what shoppers searched for,
most frequent zero-result queries first."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import F
from unfold.admin import ModelAdmin
from unfold.decorators import display

from search.models import ReindexCheckpoint, SearchQueryStat, Synonym
from search.services import synonyms_changed_on_commit


@admin.register(Synonym)
class SynonymAdmin(ModelAdmin):
    list_display = ["terms", "is_active", "updated_at"]
    list_filter = ["is_active"]
    list_editable = ["is_active"]
    search_fields = ["terms"]

    def save_model(self, request, obj, form, change):
        obj.terms = ", ".join(obj.term_list)
        super().save_model(request, obj, form, change)
        synonyms_changed_on_commit()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        synonyms_changed_on_commit()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        synonyms_changed_on_commit()


class ZeroResultFilter(admin.SimpleListFilter):
    title = "results"
    parameter_name = "results"

    def lookups(self, request, model_admin):
        return [("none", "Found nothing at least once"), ("always", "Never found anything")]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(zero_result_searches__gt=0)
        if self.value() == "always":
            return queryset.filter(zero_result_searches=F("searches"))
        return queryset


@admin.register(SearchQueryStat)
class SearchQueryStatAdmin(ModelAdmin):
    """The report: the most frequent queries that found nothing, with counts (ordered by
    zero-result count), to turn into synonyms or catalog fixes."""

    list_display = [
        "query",
        "zero_result_searches",
        "searches",
        "zero_share",
        "last_zero_result_at",
        "last_searched_at",
    ]
    list_filter = [ZeroResultFilter]
    search_fields = ["query"]
    ordering = ["-zero_result_searches", "-searches", "query"]
    list_per_page = 100

    @display(description="Found nothing")
    def zero_share(self, obj: SearchQueryStat) -> str:
        return f"{100 * obj.zero_result_searches / obj.searches:.0f}%" if obj.searches else "-"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ReindexCheckpoint)
class ReindexCheckpointAdmin(ModelAdmin):
    list_display = ["backend", "status", "processed", "total", "started_at", "finished_at"]
    readonly_fields = [f.name for f in ReindexCheckpoint._meta.fields]

    def has_add_permission(self, request):
        return False
