"""Reviews: one per customer and product, moderated, with the product's rating kept in step."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from orders.selectors import user_received_product
from products.errors import ProductNotFound, ReviewExists, ReviewNotFound
from products.models import Product, Review, ReviewStatus
from products.services.common import get_or_404
from products.services.events import products_changed_on_commit


def review_is_verified_purchase(user: Any, product: Product) -> bool:
    """Whether `user` bought `product`: a delivered order of theirs has a line for it."""
    return user_received_product(user=user, product_id=product.pk)


def product_rating_refresh(product_ids: list[int] | None = None) -> None:
    """rating_avg / rating_count from published reviews, in one UPDATE."""
    product, review = Product._meta.db_table, Review._meta.db_table
    published = f"FROM {review} r WHERE r.product_id = p.id AND r.status = 'published'"
    sql = (
        f"UPDATE {product} p SET "  # noqa: S608
        f"rating_avg = coalesce((SELECT round(avg(r.rating), 2) {published}), 0), "
        f"rating_count = (SELECT count(*) {published})"
    )
    params: list[Any] = []
    if product_ids is not None:
        sql += " WHERE p.id = ANY(%s)"
        params.append(sorted(set(product_ids)))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@transaction.atomic
def review_create(
    *, user: Any, product_id: int, rating: int, title: str = "", body: str = ""
) -> Review:
    product = Product.objects.filter(pk=product_id, is_active=True).first()
    if product is None:
        raise ProductNotFound()
    if Review.objects.filter(product=product, user=user).exists():
        raise ReviewExists()
    publish = settings.REVIEWS_PUBLISH_IMMEDIATELY
    review = Review(
        product=product,
        user=user,
        rating=rating,
        title=title,
        body=body,
        is_verified_purchase=review_is_verified_purchase(user, product),
        status=ReviewStatus.PUBLISHED if publish else ReviewStatus.PENDING,
    )
    try:
        with transaction.atomic():
            review.save()
    except IntegrityError:  # the same customer's concurrent second post
        raise ReviewExists() from None
    if publish:
        product_rating_refresh([product.pk])
        products_changed_on_commit([product.pk])
    return review


@transaction.atomic
def review_moderate(*, review_id: int, status: str, actor: Any = None) -> Review:
    """Publish, reject or send back to pending; the rating follows what is published."""
    review = get_or_404(Review.objects.select_for_update(), review_id, ReviewNotFound)
    if status not in ReviewStatus.values:
        raise ValueError(f"unknown review status {status!r}")
    was_published = review.status == ReviewStatus.PUBLISHED
    review.status = status
    review.moderated_at = timezone.now()
    review.moderated_by = actor if getattr(actor, "pk", None) else None
    review.save(update_fields=["status", "moderated_at", "moderated_by", "updated_at"])
    if was_published or status == ReviewStatus.PUBLISHED:
        product_rating_refresh([review.product_id])
        products_changed_on_commit([review.product_id])
    return review


@transaction.atomic
def reviews_moderate(*, review_ids: list[int], status: str, actor: Any = None) -> int:
    """Bulk moderation (admin actions)."""
    reviews = list(Review.objects.select_for_update().filter(pk__in=review_ids).order_by("pk"))
    for review in reviews:
        review_moderate(review_id=review.pk, status=status, actor=actor)
    return len(reviews)
