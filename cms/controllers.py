"""Public content reads under /api/cms/: cached JSON bytes (cms/answers.py).

Plain Ninja operations, as the public catalog's are (products/controllers/public.py says why: a
controller instance per request cost a quarter of a cached answer); nothing here has state or
permissions. Every read may come from a read replica (api/db_router.py)."""

from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router

from api.controllers import error_responses
from api.db_router import read_from_replica
from cms import answers
from cms.schemas import (
    BannerOut,
    FooterOut,
    GuaranteeOut,
    HomepageOut,
    MenuOut,
    PageOut,
    PlacementName,
)
from products.schemas import Slug

router = Router(tags=["content"], auth=None)


def json_bytes(body: bytes) -> HttpResponse:
    return HttpResponse(body, content_type="application/json")


@router.get(
    "/homepage",
    response={200: HomepageOut, **error_responses(429)},
    summary="The homepage's sections, in order",
    description=(
        "Published sections with something to show: hero banners inside their window, "
        "featured categories, product carousels (visible products in stock only, as the "
        "catalog list renders them) and text."
    ),
)
def homepage(request: HttpRequest):
    with read_from_replica():
        return json_bytes(answers.homepage_json())


@router.get(
    "/banners",
    response={200: list[BannerOut], **error_responses(422, 429)},
    summary="Banners live now, in one placement or all",
)
def banners(request: HttpRequest, placement: Query[PlacementName | None] = None):
    with read_from_replica():
        return json_bytes(answers.banners_json(placement))


@router.get(
    "/menus/{slug}",
    response={200: MenuOut, **error_responses(404, 422, 429)},
    summary="A navigation menu, nested",
)
def menu(request: HttpRequest, slug: Path[Slug]):
    with read_from_replica():
        return json_bytes(answers.menu_json(slug))


@router.get("/footer", response={200: FooterOut, **error_responses(429)}, summary="The footer")
def footer(request: HttpRequest):
    with read_from_replica():
        return json_bytes(answers.footer_json())


@router.get(
    "/pages/{slug}",
    response={200: PageOut, **error_responses(404, 422, 429)},
    summary="A published static page (about, shipping, returns, privacy...)",
)
def page(request: HttpRequest, slug: Path[Slug]):
    with read_from_replica():
        return json_bytes(answers.page_json(slug))


@router.get(
    "/guarantees",
    response={200: list[GuaranteeOut], **error_responses(429)},
    summary="Service guarantees (free shipping over the cart's threshold, returns, support)",
)
def guarantees(request: HttpRequest):
    with read_from_replica():
        return json_bytes(answers.guarantees_json())
