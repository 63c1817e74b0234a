"""/api/staff/promotions: catalog promotions (a price off the variants they target, shown
everywhere a price shows) and cart promotions (spend X get Y, buy N get M): list, read, create,
change, delete. Every route needs a staff token and the model permission it names; writes go
through promotions.services (a catalog promotion's write rewrites the promoted prices at once)."""

from django.http import HttpRequest
from ninja import Header, Path, Status
from ninja_extra import api_controller, route
from ninja_extra.pagination import paginate

from api.auth import JWTAuth
from api.controllers import ApiController, error_responses
from api.idempotency import HEADER, idempotent_answer, validate_key
from api.pagination import Page, PageNumberPagination
from api.permissions import StaffWithPerms
from promotions import selectors, services
from promotions.schemas import (
    CartPromotionIn,
    CartPromotionOut,
    CartPromotionPatch,
    CatalogPromotionIn,
    CatalogPromotionOut,
    CatalogPromotionPatch,
    Id,
)

READ_ERRORS = error_responses(401, 403, 404, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 409, 422, 429)
RULES = (
    "The model's rules apply (422 naming the field): a percentage is at most 100, a window ends "
    "after it starts, every target id must exist."
)


def perm(codename: str) -> list:
    return [StaffWithPerms(f"promotions.{codename}")]


@api_controller("/staff/promotions", tags=["staff: promotions"], auth=JWTAuth())
class StaffPromotionController(ApiController):
    # -- catalog promotions ---------------------------------------------------------------------
    @route.get(
        "/catalog",
        response={200: Page[CatalogPromotionOut], **READ_ERRORS},
        permissions=perm("view_catalogpromotion"),
        summary="Every catalog promotion, highest priority first",
    )
    @paginate(PageNumberPagination)
    def catalog_promotions(self):
        return selectors.catalog_promotion_list()

    @route.post(
        "/catalog",
        response={201: CatalogPromotionOut, **WRITE_ERRORS},
        permissions=perm("add_catalogpromotion"),
        summary="Create a catalog promotion (Idempotency-Key accepted)",
        description=f"{RULES} The catalog shows its prices on the next read.",
    )
    def catalog_promotion_create(
        self,
        request: HttpRequest,
        payload: CatalogPromotionIn,
        idempotency_key: str | None = Header(None, alias=HEADER, max_length=255),
    ):
        def operation():
            promotion = services.catalog_promotion_create(**payload.split())
            promotion = selectors.catalog_promotion_get(promotion_id=promotion.pk)
            return 201, CatalogPromotionOut.from_orm(promotion).model_dump(mode="json")

        return idempotent_answer(
            scope="promotions.catalog_promotion_create",
            user=request.user,
            key=validate_key(idempotency_key),
            payload=payload.model_dump(mode="json"),
            operation=operation,
        )

    @route.get(
        "/catalog/{promotion_id}",
        response={200: CatalogPromotionOut, **READ_ERRORS},
        permissions=perm("view_catalogpromotion"),
    )
    def catalog_promotion(self, promotion_id: Path[Id]):
        return selectors.catalog_promotion_get(promotion_id=promotion_id)

    @route.patch(
        "/catalog/{promotion_id}",
        response={200: CatalogPromotionOut, **WRITE_ERRORS},
        permissions=perm("change_catalogpromotion"),
        summary="Change a catalog promotion; a target list sent replaces that list",
        description=RULES,
    )
    def catalog_promotion_update(self, promotion_id: Path[Id], payload: CatalogPromotionPatch):
        services.catalog_promotion_update(promotion_id=promotion_id, **payload.split())
        return selectors.catalog_promotion_get(promotion_id=promotion_id)

    @route.delete(
        "/catalog/{promotion_id}",
        response={204: None, **WRITE_ERRORS},
        permissions=perm("delete_catalogpromotion"),
        summary="Delete a catalog promotion (orders keep their discounts)",
    )
    def catalog_promotion_delete(self, promotion_id: Path[Id]):
        services.catalog_promotion_delete(promotion_id=promotion_id)
        return Status(204, None)

    # -- cart promotions ------------------------------------------------------------------------
    @route.get(
        "/cart",
        response={200: Page[CartPromotionOut], **READ_ERRORS},
        permissions=perm("view_cartpromotion"),
        summary="Every cart promotion, highest priority first, with its uses",
    )
    @paginate(PageNumberPagination)
    def cart_promotions(self):
        return selectors.cart_promotion_list()

    @route.post(
        "/cart",
        response={201: CartPromotionOut, **WRITE_ERRORS},
        permissions=perm("add_cartpromotion"),
        summary="Create a cart promotion (Idempotency-Key accepted)",
        description=(
            f"{RULES} `spend` gives `percent`, `fixed` or `free_shipping`; `buy_get` gives "
            "`free_items` and needs `buy_quantity` and `free_quantity`."
        ),
    )
    def cart_promotion_create(
        self,
        request: HttpRequest,
        payload: CartPromotionIn,
        idempotency_key: str | None = Header(None, alias=HEADER, max_length=255),
    ):
        def operation():
            promotion = services.cart_promotion_create(**payload.split())
            promotion = selectors.cart_promotion_get(promotion_id=promotion.pk)
            return 201, CartPromotionOut.from_orm(promotion).model_dump(mode="json")

        return idempotent_answer(
            scope="promotions.cart_promotion_create",
            user=request.user,
            key=validate_key(idempotency_key),
            payload=payload.model_dump(mode="json"),
            operation=operation,
        )

    @route.get(
        "/cart/{promotion_id}",
        response={200: CartPromotionOut, **READ_ERRORS},
        permissions=perm("view_cartpromotion"),
    )
    def cart_promotion(self, promotion_id: Path[Id]):
        return selectors.cart_promotion_get(promotion_id=promotion_id)

    @route.patch(
        "/cart/{promotion_id}",
        response={200: CartPromotionOut, **WRITE_ERRORS},
        permissions=perm("change_cartpromotion"),
        summary="Change a cart promotion; a target list sent replaces that list",
        description=f"{RULES} A use limit or budget below what was used is a 422.",
    )
    def cart_promotion_update(self, promotion_id: Path[Id], payload: CartPromotionPatch):
        services.cart_promotion_update(promotion_id=promotion_id, **payload.split())
        return selectors.cart_promotion_get(promotion_id=promotion_id)

    @route.delete(
        "/cart/{promotion_id}",
        response={204: None, **WRITE_ERRORS},
        permissions=perm("delete_cartpromotion"),
        summary="Delete a cart promotion no order used (409 `cart_promotion_used` otherwise)",
    )
    def cart_promotion_delete(self, promotion_id: Path[Id]):
        services.cart_promotion_delete(promotion_id=promotion_id)
        return Status(204, None)
