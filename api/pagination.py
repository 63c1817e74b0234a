"""Page-number pagination with a capped page size and a total count (docs/architecture.md §6)."""

from __future__ import annotations

import math
from typing import Any, Generic, TypeVar

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import PaginationBase
from ninja_extra.urls import remove_query_param, replace_query_param

from api.errors import PageNotFound

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

T = TypeVar("T")


class Page(Schema, Generic[T]):
    """Every list answers this: `response=Page[ItemOut]`, `@paginate(PageNumberPagination)`."""

    count: int
    page: int
    page_size: int
    pages: int
    next: str | None
    previous: str | None
    results: list[T]


class PageNumberPagination(PaginationBase):
    """`?page=2&page_size=50`; page_size above MAX_PAGE_SIZE is served as MAX_PAGE_SIZE."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=1_000_000, description="Page number, from 1.")
        page_size: int = Field(
            DEFAULT_PAGE_SIZE,
            ge=1,
            le=10_000,
            description=f"Items per page; at most {MAX_PAGE_SIZE} are served.",
        )

    items_attribute = "results"

    def paginate_queryset(
        self, queryset: QuerySet | list, pagination: Input, request: HttpRequest, **params: Any
    ) -> dict[str, Any]:
        page_size = min(pagination.page_size, MAX_PAGE_SIZE)
        count = queryset.count() if isinstance(queryset, QuerySet) else len(queryset)
        pages = max(1, math.ceil(count / page_size))
        if pagination.page > pages:
            raise PageNotFound(pagination.page, pages)
        offset = (pagination.page - 1) * page_size
        url = request.build_absolute_uri()
        return {
            "count": count,
            "page": pagination.page,
            "page_size": page_size,
            "pages": pages,
            "next": replace_query_param(url, "page", pagination.page + 1)
            if pagination.page < pages
            else None,
            "previous": _previous_link(url, pagination.page),
            "results": list(queryset[offset : offset + page_size]),
        }


def _previous_link(url: str, page: int) -> str | None:
    if page <= 1:
        return None
    if page == 2:
        return remove_query_param(url, "page")
    return replace_query_param(url, "page", page - 1)
