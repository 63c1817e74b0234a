"""Public catalog reads (cached JSON bytes) and customer reviews."""

from django.http import HttpRequest, HttpResponse
from ninja import Header, Path, Query, Router

from api import ratelimit
from api.auth import JWTAuth
from api.idempotency import HEADER, idempotent_response, run_idempotent, validate_key
from api.pagination import MAX_PAGE_SIZE, Page, PageNumberPagination
from products import selectors, services
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


ERRORS = {404: dict, 422: dict}


def json_bytes(body: bytes, status: int = 200) -> HttpResponse:
    return HttpResponse(body, content_type="application/json", status=status)


def _review_out(review, *, with_status: bool = False) -> dict:
    data = {
        "id": review.pk,
        "rating": review.rating,
        "title": review.title,
        "body": review.body,
        "author": selectors.review_author(review),
        "is_verified_purchase": review.is_verified_purchase,
        "created_at": review.created_at,
    }
    if with_status:
        data["status"] = review.status
    return data


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
    return json_bytes(selectors.category_tree_json())


@router.get(
    "/categories/{slug}",
    response={200: CategoryDetailOut, 404: dict},
    summary="One category with its breadcrumbs and subcategories",
)
def category(request: HttpRequest, slug: Path[Slug]):
    return json_bytes(selectors.category_detail_json(slug))


@router.get("/brands", response={200: Page[BrandOut]}, summary="Brands with product counts")
def brands(request: HttpRequest, page: int = PageNumber(), page_size: int = PageSize()):
    return json_bytes(selectors.brand_list_json(request, page, page_size))


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
    return json_bytes(selectors.product_list_json(request, filters, page, page_size))


@router.get(
    "/products/{slug}",
    response={200: ProductDetailOut, 404: dict},
    summary="Everything a product page needs",
)
def product(request: HttpRequest, slug: Path[ProductSlug]):
    return json_bytes(selectors.product_detail_json(slug))


@router.get(
    "/products/{slug}/reviews",
    response={200: Page[ReviewOut], 404: dict},
    summary="Published reviews of a product, newest first",
)
def reviews(
    request: HttpRequest,
    slug: Path[ProductSlug],
    page: int = PageNumber(),
    page_size: int = PageSize(),
):
    ratelimit.settle_pending()  # no cached answer to count the deferred limit with
    product = selectors.visible_product_for_slug(slug)
    data = PageNumberPagination().paginate_queryset(
        selectors.published_reviews(product),
        PageNumberPagination.Input(page=page, page_size=page_size),
        request,
    )
    data["results"] = [_review_out(review) for review in data["results"]]
    return data


@router.post(
    "/products/{slug}/reviews",
    auth=JWTAuth(),
    response={201: MyReviewOut, 400: dict, 401: dict, 404: dict, 409: dict, 422: dict},
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
        return 201, MyReviewOut.model_validate(_review_out(review, with_status=True)).model_dump(
            mode="json"
        )

    result = run_idempotent(
        scope="catalog.review_create",
        owner=f"user:{user.pk}",
        key=validate_key(idempotency_key),
        payload={"slug": slug, **payload.model_dump(mode="json")},
        operation=operation,
    )
    return idempotent_response(result)
