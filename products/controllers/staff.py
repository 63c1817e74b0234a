"""Staff catalog API: structure, products, variants, images, stock and review moderation.

Every route needs a staff token and the Django model permission it names; writes go through
products.services, which invalidate the public caches after commit.
"""

from django.http import HttpRequest
from ninja import File, Form, Header, Path, Query, Status, UploadedFile
from ninja_extra import api_controller, route
from ninja_extra.pagination import paginate

from api.auth import JWTAuth
from api.controllers import ApiController, error_responses
from api.errors import InvalidInput
from api.idempotency import HEADER, idempotent_answer, validate_key
from api.pagination import Page, PageNumberPagination
from api.permissions import StaffWithPerms
from api.schemas import ErrorOut
from products import selectors, services
from products.errors import VariantNotFound
from products.models import (
    AttributeDefinition,
    Brand,
    Category,
    Review,
    ReviewStatus,
    StockMovement,
    Variant,
)
from products.schemas import (
    AttributeDefinitionIn,
    AttributeDefinitionPatch,
    BrandIn,
    BrandPatch,
    CategoryIn,
    CategoryPatch,
    Id,
    ImagePatch,
    ProductIn,
    ProductPatch,
    ReviewModerateIn,
    StaffAttributeDefinitionOut,
    StaffBrandOut,
    StaffCategoryOut,
    StaffImageOut,
    StaffProductListOut,
    StaffProductOut,
    StaffReviewOut,
    StaffVariantOut,
    StockAdjustIn,
    StockAdjustmentOut,
    StockBulkIn,
    StockMovementOut,
    VariantIn,
    VariantPatch,
)
from products.services.common import get_or_404

AUTH_ERRORS = error_responses(401, 403, 429)
WRITE_ERRORS = {**AUTH_ERRORS, **error_responses(400, 404, 409, 422)}


def perm(codename: str) -> list:
    return [StaffWithPerms(f"products.{codename}")]


def _changes(payload) -> dict:
    """The fields the client sent (PATCH): absent ones stay as they are."""
    return payload.model_dump(exclude_unset=True)


@api_controller("/staff/catalog", tags=["staff: catalog"], auth=JWTAuth())
class StaffCatalogController(ApiController):
    """Categories, brands, attribute definitions and review moderation."""

    # -- categories -----------------------------------------------------------------------------
    @route.get(
        "/categories",
        response={200: Page[StaffCategoryOut], **AUTH_ERRORS},
        permissions=perm("view_category"),
        summary="Every category, active or not",
    )
    @paginate(PageNumberPagination)
    def categories(self):
        return Category.objects.order_by("path")

    @route.post(
        "/categories",
        response={201: StaffCategoryOut, **WRITE_ERRORS},
        permissions=perm("add_category"),
    )
    def category_create(self, payload: CategoryIn):
        return Status(201, services.category_create(**payload.model_dump()))

    @route.patch(
        "/categories/{category_id}",
        response={200: StaffCategoryOut, **WRITE_ERRORS},
        permissions=perm("change_category"),
    )
    def category_update(self, category_id: Path[Id], payload: CategoryPatch):
        return services.category_update(category_id=category_id, **_changes(payload))

    @route.delete(
        "/categories/{category_id}",
        response={204: None, **WRITE_ERRORS},
        permissions=perm("delete_category"),
    )
    def category_delete(self, category_id: Path[Id]):
        services.category_delete(category_id=category_id)
        return Status(204, None)

    # -- brands ---------------------------------------------------------------------------------
    @route.get(
        "/brands",
        response={200: Page[StaffBrandOut], **AUTH_ERRORS},
        permissions=perm("view_brand"),
    )
    @paginate(PageNumberPagination)
    def brands(self):
        return Brand.objects.order_by("name", "id")

    @route.post(
        "/brands", response={201: StaffBrandOut, **WRITE_ERRORS}, permissions=perm("add_brand")
    )
    def brand_create(self, payload: BrandIn):
        return Status(201, services.brand_create(**payload.model_dump()))

    @route.patch(
        "/brands/{brand_id}",
        response={200: StaffBrandOut, **WRITE_ERRORS},
        permissions=perm("change_brand"),
    )
    def brand_update(self, brand_id: Path[Id], payload: BrandPatch):
        return services.brand_update(brand_id=brand_id, **_changes(payload))

    @route.delete(
        "/brands/{brand_id}", response={204: None, **WRITE_ERRORS}, permissions=perm("delete_brand")
    )
    def brand_delete(self, brand_id: Path[Id]):
        services.brand_delete(brand_id=brand_id)
        return Status(204, None)

    # -- attribute definitions ------------------------------------------------------------------
    @route.get(
        "/attributes",
        response={200: Page[StaffAttributeDefinitionOut], **AUTH_ERRORS},
        permissions=perm("view_attributedefinition"),
    )
    @paginate(PageNumberPagination)
    def attributes(self):
        return AttributeDefinition.objects.order_by("category_id", "position", "code", "id")

    @route.post(
        "/attributes",
        response={201: StaffAttributeDefinitionOut, **WRITE_ERRORS},
        permissions=perm("add_attributedefinition"),
    )
    def attribute_create(self, payload: AttributeDefinitionIn):
        return Status(201, services.attribute_definition_create(**payload.model_dump()))

    @route.patch(
        "/attributes/{definition_id}",
        response={200: StaffAttributeDefinitionOut, **WRITE_ERRORS},
        permissions=perm("change_attributedefinition"),
    )
    def attribute_update(self, definition_id: Path[Id], payload: AttributeDefinitionPatch):
        return services.attribute_definition_update(
            definition_id=definition_id, **_changes(payload)
        )

    @route.delete(
        "/attributes/{definition_id}",
        response={204: None, **WRITE_ERRORS},
        permissions=perm("delete_attributedefinition"),
    )
    def attribute_delete(self, definition_id: Path[Id]):
        services.attribute_definition_delete(definition_id=definition_id)
        return Status(204, None)

    # -- reviews --------------------------------------------------------------------------------
    @route.get(
        "/reviews",
        response={200: Page[StaffReviewOut], **AUTH_ERRORS},
        permissions=perm("view_review"),
        summary="Reviews, pending first by default",
    )
    @paginate(PageNumberPagination)
    def reviews(self, status: ReviewStatus | None = Query(None)):
        qs = Review.objects.order_by("-created_at", "-id")
        return qs.filter(status=status) if status else qs

    @route.post(
        "/reviews/{review_id}/moderate",
        response={200: StaffReviewOut, **WRITE_ERRORS},
        permissions=perm("change_review"),
        summary="Publish, reject or re-open a review",
    )
    def review_moderate(self, request: HttpRequest, review_id: Path[Id], payload: ReviewModerateIn):
        return services.review_moderate(
            review_id=review_id, status=payload.status, actor=request.user
        )


@api_controller("/staff/catalog", tags=["staff: catalog"], auth=JWTAuth())
class StaffProductController(ApiController):
    """Products, variants, images and stock."""

    @route.get(
        "/products",
        response={200: Page[StaffProductListOut], **AUTH_ERRORS},
        permissions=perm("view_product"),
        summary="Every product, with stock totals (q: name, slug or exact SKU)",
    )
    @paginate(PageNumberPagination)
    def products(
        self,
        q: str | None = Query(None, max_length=200, pattern=r"^[^\x00]*$"),
        is_active: bool | None = Query(None),
    ):
        return selectors.staff_products(q=q, is_active=is_active)

    @route.post(
        "/products",
        response={201: StaffProductOut, **WRITE_ERRORS},
        permissions=perm("add_product"),
        summary="Create a product with its variants (Idempotency-Key accepted)",
    )
    def product_create(
        self,
        request: HttpRequest,
        payload: ProductIn,
        idempotency_key: str | None = Header(None, alias=HEADER),
    ):
        def operation():
            product = services.product_create(**payload.model_dump(), actor=request.user)
            # Stored as the key's answer: every repeat gets these same bytes.
            body = StaffProductOut.from_orm(selectors.staff_product(product.pk))
            return 201, body.model_dump(mode="json")

        return idempotent_answer(
            scope="catalog.product_create",
            user=request.user,
            key=validate_key(idempotency_key),
            payload=payload.model_dump(mode="json"),
            operation=operation,
        )

    @route.get(
        "/products/{product_id}",
        response={200: StaffProductOut, 404: ErrorOut, **AUTH_ERRORS},
        permissions=perm("view_product"),
    )
    def product(self, product_id: Path[Id]):
        return selectors.staff_product(product_id)

    @route.patch(
        "/products/{product_id}",
        response={200: StaffProductOut, **WRITE_ERRORS},
        permissions=perm("change_product"),
    )
    def product_update(self, product_id: Path[Id], payload: ProductPatch):
        services.product_update(product_id=product_id, **_changes(payload))
        return selectors.staff_product(product_id)

    @route.delete(
        "/products/{product_id}",
        response={204: None, **WRITE_ERRORS},
        permissions=perm("delete_product"),
    )
    def product_delete(self, product_id: Path[Id]):
        services.product_delete(product_id=product_id)
        return Status(204, None)

    # -- variants -------------------------------------------------------------------------------
    @route.post(
        "/products/{product_id}/variants",
        response={201: StaffVariantOut, **WRITE_ERRORS},
        permissions=perm("add_variant"),
    )
    def variant_create(self, request: HttpRequest, product_id: Path[Id], payload: VariantIn):
        variant = services.variant_create(
            product_id=product_id, actor=request.user, **payload.model_dump()
        )
        return Status(201, selectors.staff_variant(variant.pk))

    @route.patch(
        "/variants/{variant_id}",
        response={200: StaffVariantOut, **WRITE_ERRORS},
        permissions=perm("change_variant"),
    )
    def variant_update(self, variant_id: Path[Id], payload: VariantPatch):
        services.variant_update(variant_id=variant_id, **_changes(payload))
        return selectors.staff_variant(variant_id)

    @route.delete(
        "/variants/{variant_id}",
        response={204: None, **WRITE_ERRORS},
        permissions=perm("delete_variant"),
    )
    def variant_delete(self, variant_id: Path[Id]):
        services.variant_delete(variant_id=variant_id)
        return Status(204, None)

    # -- images ---------------------------------------------------------------------------------
    @route.post(
        "/products/{product_id}/images",
        response={201: StaffImageOut, **WRITE_ERRORS, 413: ErrorOut},
        permissions=perm("add_productimage"),
        summary="Upload an image (multipart; JPEG, PNG, WebP or GIF; at most 10 MB)",
    )
    def image_create(
        self,
        product_id: Path[Id],
        file: File[UploadedFile],
        alt: str = Form("", max_length=200, pattern=r"^[^\x00]*$"),
        position: int | None = Form(None, ge=-1_000_000, le=1_000_000),
    ):
        image = services.product_image_add(
            product_id=product_id, file=file, alt=alt, position=position
        )
        return Status(201, image)

    @route.patch(
        "/images/{image_id}",
        response={200: StaffImageOut, **WRITE_ERRORS},
        permissions=perm("change_productimage"),
    )
    def image_update(self, image_id: Path[Id], payload: ImagePatch):
        return services.product_image_update(image_id=image_id, **_changes(payload))

    @route.delete(
        "/images/{image_id}",
        response={204: None, **WRITE_ERRORS},
        permissions=perm("delete_productimage"),
    )
    def image_delete(self, image_id: Path[Id]):
        services.product_image_delete(image_id=image_id)
        return Status(204, None)

    # -- stock ----------------------------------------------------------------------------------
    @route.post(
        "/variants/{variant_id}/stock-adjustments",
        response={201: StockAdjustmentOut, 200: StockAdjustmentOut, **WRITE_ERRORS},
        permissions=perm("adjust_stock"),
        summary="Adjust stock (delta, or the counted quantity); Idempotency-Key required",
        description="201 with the ledger line written; 200 when the quantity was already right.",
    )
    def stock_adjust(
        self,
        request: HttpRequest,
        variant_id: Path[Id],
        payload: StockAdjustIn,
        idempotency_key: str | None = Header(None, alias=HEADER),
    ):
        key = validate_key(idempotency_key, required=True)
        _require_one_of(payload.delta, payload.quantity)

        def operation():
            movement = services.stock_adjust(
                variant_id=variant_id,
                delta=payload.delta,
                quantity=payload.quantity,
                reason=payload.reason,
                actor=request.user,
                reference=payload.reference,
                note=payload.note,
            )
            (adjustment,) = selectors.stock_adjustments(
                [variant_id], [movement] if movement else []
            )
            body = StockAdjustmentOut.from_orm(adjustment).model_dump(mode="json")
            return (201 if movement else 200), body

        return idempotent_answer(
            scope="catalog.stock_adjust",
            user=request.user,
            key=key,
            payload={"variant_id": variant_id, **payload.model_dump(mode="json")},
            operation=operation,
        )

    @route.post(
        "/stock-adjustments",
        response={201: list[StockAdjustmentOut], **WRITE_ERRORS},
        permissions=perm("adjust_stock"),
        summary="Adjust many variants at once, all or nothing; Idempotency-Key required",
    )
    def stock_adjust_bulk(
        self,
        request: HttpRequest,
        payload: StockBulkIn,
        idempotency_key: str | None = Header(None, alias=HEADER),
    ):
        key = validate_key(idempotency_key, required=True)
        for item in payload.items:
            _require_one_of(item.delta, item.quantity)

        def operation():
            movements = services.stock_adjust_many(
                changes=[
                    services.StockChange(i.variant_id, delta=i.delta, quantity=i.quantity)
                    for i in payload.items
                ],
                reason=payload.reason,
                actor=request.user,
                reference=payload.reference,
                note=payload.note,
            )
            adjustments = selectors.stock_adjustments(
                [i.variant_id for i in payload.items], movements
            )
            return 201, [
                StockAdjustmentOut.from_orm(a).model_dump(mode="json") for a in adjustments
            ]

        return idempotent_answer(
            scope="catalog.stock_adjust_bulk",
            user=request.user,
            key=key,
            payload=payload.model_dump(mode="json"),
            operation=operation,
        )

    @route.get(
        "/variants/{variant_id}/stock-movements",
        response={200: Page[StockMovementOut], 404: ErrorOut, **AUTH_ERRORS},
        permissions=perm("view_stockmovement"),
        summary="The variant's stock ledger",
    )
    @paginate(PageNumberPagination)
    def stock_movements(self, variant_id: Path[Id]):
        get_or_404(Variant.objects.all(), variant_id, VariantNotFound)
        return StockMovement.objects.filter(variant_id=variant_id).order_by("-created_at", "-id")


def _require_one_of(delta: int | None, quantity: int | None) -> None:
    if (delta is None) == (quantity is None):
        raise InvalidInput.for_field("delta", "Give either delta or quantity.", kind="one_of")
