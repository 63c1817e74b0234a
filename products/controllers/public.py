"""Public catalog reads (cached JSON bytes, products/catalog_pages.py) and customer reviews.

Every GET here reads inside api.db_router.read_from_replica(): the catalog may be a moment old,
so a configured read replica serves it (the router's rules still send a request that wrote, or
a fill the replica cannot serve yet, to the primary). Posting a review reads and writes the
primary.
"""

import re

from django.http import HttpRequest, HttpResponse
from ninja import Header, Path, Query, Router

from api import cache
from api.auth import JWTAuth
from api.cached_reads import CachedRead
from api.controllers import error_responses
from api.db_router import read_from_replica
from api.idempotency import HEADER, idempotent_answer, validate_key
from api.pagination import MAX_PAGE_SIZE, Page, PageNumberPagination
from api.schemas import ErrorOut
from products import catalog_pages, selectors, services
from products.schemas import (
    BrandOut,
    CategoryDetailOut,
    CategoryNodeOut,
    MyReviewOut,
    ProductDetailOut,
    ProductFilter,
    ProductListItemOut,
    ProductSlug,
    ReviewIn,
    ReviewOut,
    Slug,
)


def PageNumber():
    return Query(1, ge=1, le=1_000_000, description="Page number, from 1.")


def PageSize():
    return Query(
        20, ge=1, le=10_000, description=f"Items per page; at most {MAX_PAGE_SIZE} are served."
    )


ERRORS = error_responses(404, 422, 429)


def json_bytes(body: bytes, status: int = 200) -> HttpResponse:
    return HttpResponse(body, content_type="application/json", status=status)


def page_url(request: HttpRequest) -> catalog_pages.PageUrl:
    """The request parsed for products/catalog_pages.py: query pairs (sorted) and the page URL."""
    params = tuple((name, v) for name, values in sorted(request.GET.lists()) for v in values)
    return catalog_pages.PageUrl(params=params, base=request.build_absolute_uri(request.path))


# Plain Ninja operations, not a ninja-extra controller: building a controller per request
# (injector, route context, permission objects) cost about a quarter of a cached answer's time
# (measured with bench/run.py); these routes have no state or permissions to need it.
router = Router(tags=["catalog"], auth=None)


@router.get(
    "/categories",
    response={200: list[CategoryNodeOut]},
    summary="The category tree with product counts",
)
def categories(request: HttpRequest):
    with read_from_replica():
        return json_bytes(catalog_pages.category_tree_json())


@router.get(
    "/categories/{slug}",
    response={200: CategoryDetailOut, 404: ErrorOut, 429: ErrorOut},
    summary="One category with its breadcrumbs and subcategories",
)
def category(request: HttpRequest, slug: Path[Slug]):
    with read_from_replica():
        return json_bytes(catalog_pages.category_detail_json(slug))


@router.get("/brands", response={200: Page[BrandOut]}, summary="Brands with product counts")
def brands(request: HttpRequest, page: int = PageNumber(), page_size: int = PageSize()):
    with read_from_replica():
        return json_bytes(catalog_pages.brand_list_json(page, page_size, url=page_url(request)))


@router.get(
    "/products",
    response={200: Page[ProductListItemOut], **ERRORS},
    summary="Products: filters, sort, pages",
    description=(
        "Filters: category (with its subtree), brand, price range on the variants' "
        "effective prices, in_stock, featured, and attribute values (?color=blue&size=42 "
        "or attr=color:blue). Sorts: newest (default), price, -price, rating, popularity, "
        "name, -name."
    ),
)
def products(
    request: HttpRequest,
    filters: Query[ProductFilter],
    page: int = PageNumber(),
    page_size: int = PageSize(),
):
    url = page_url(request)
    with read_from_replica():
        return json_bytes(catalog_pages.product_list_json(filters, page, page_size, url=url))


@router.get(
    "/products/{slug}",
    response={200: ProductDetailOut, 404: ErrorOut, 429: ErrorOut},
    summary="Everything a product page needs",
)
def product(request: HttpRequest, slug: Path[ProductSlug]):
    with read_from_replica():
        return json_bytes(catalog_pages.product_detail_json(slug))


@router.get(
    "/products/{slug}/reviews",
    response={200: Page[ReviewOut], 404: ErrorOut, 429: ErrorOut},
    summary="Published reviews of a product, newest first",
)
def reviews(
    request: HttpRequest,
    slug: Path[ProductSlug],
    page: int = PageNumber(),
    page_size: int = PageSize(),
):
    cache.deferred_limit_settle()  # no cached answer to count the deferred limit with
    with read_from_replica():
        product = selectors.visible_product_for_slug(slug)
        return PageNumberPagination().paginate_queryset(
            selectors.published_reviews(product),
            PageNumberPagination.Input(page=page, page_size=page_size),
            request,
        )


@router.post(
    "/products/{slug}/reviews",
    auth=JWTAuth(),
    response={201: MyReviewOut, **error_responses(400, 401, 404, 409, 422, 429)},
    summary="Review a product (once per customer); moderated unless configured otherwise",
)
def review_create(
    request: HttpRequest,
    slug: Path[ProductSlug],
    payload: ReviewIn,
    idempotency_key: str | None = Header(None, alias=HEADER),
):
    user = request.user
    product = selectors.visible_product_for_slug(slug)

    def operation():
        review = services.review_create(user=user, product_id=product.pk, **payload.model_dump())
        return 201, MyReviewOut.from_orm(review).model_dump(mode="json")

    return idempotent_answer(
        scope="catalog.review_create",
        user=user,
        key=validate_key(idempotency_key),
        payload={"slug": slug, **payload.model_dump(mode="json")},
        operation=operation,
    )


# The warm answers api.cached_reads serves before URL resolution: what the views above return
# from the cache, looked up the same way (settings.CATALOG_CACHED_READS).
CACHED_READS = [
    CachedRead(
        re.compile(r"/api/catalog/products\Z"),
        lambda request, _: catalog_pages.product_list_hit(page_url(request)),
    ),
    CachedRead(
        re.compile(r"/api/catalog/products/(?P<slug>[^/]+)\Z"),
        lambda _, match: catalog_pages.product_detail_hit(match["slug"]),
    ),
    CachedRead(
        re.compile(r"/api/catalog/categories\Z"),
        lambda _request, _match: catalog_pages.category_tree_hit(),
    ),
    CachedRead(
        re.compile(r"/api/catalog/categories/(?P<slug>[^/]+)\Z"),
        lambda _, match: catalog_pages.category_detail_hit(match["slug"]),
    ),
]
