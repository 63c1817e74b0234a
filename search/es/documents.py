"""ProductDocument -> the Elasticsearch documents of its variants (one per SKU), and back.

Product-level fields are repeated on every variant document: a variant is what matches (its price,
stock and attributes), the product is what the answer lists (collapsed by product_id). Product
attributes are merged into each variant's so "code=value" pairs filter both in one field.
"""

from __future__ import annotations

from decimal import Decimal

from search.base import ProductDocument, VariantDocument


def doc_id(variant_id: int) -> str:
    return str(variant_id)


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def attribute_pair(code: str, value: str) -> str:
    return f"{code}={value}"


def variant_source(product: ProductDocument, variant: VariantDocument) -> dict:
    attributes = {**product.attributes, **variant.attributes}
    return {
        "product_id": product.id,
        "variant_id": variant.id,
        "sku": variant.sku,
        "name": product.name,
        "variant_name": variant.name,
        "slug": product.slug,
        "description": product.description,
        "brand": (
            {"id": product.brand_id, "name": product.brand_name, "slug": product.brand_slug}
            if product.brand_id
            else None
        ),
        "category": {
            "id": product.category_id,
            "name": product.category_name,
            "slug": product.category_slug,
        },
        "category_path": list(product.category_path_slugs),
        "category_path_names": list(product.category_path_names),
        "price": _money(variant.price),
        "compare_at_price": _money(variant.compare_at_price),
        "in_stock": variant.in_stock,
        "is_featured": product.is_featured,
        "attributes": attributes,
        "attribute_pairs": sorted(attribute_pair(c, v) for c, v in attributes.items()),
        # "size 42" as well as "42": shoppers type the attribute's name with its value.
        "attributes_text": sorted({f"{c} {v}" for c, v in attributes.items()}),
        "rating": float(product.rating_avg),
        "rating_count": product.rating_count,
        "sales_count": product.sales_count,
        "created_at": product.created_at.isoformat(),
        "updated_at": product.updated_at.isoformat(),
        "image_url": product.image_url,
    }


def product_sources(product: ProductDocument) -> dict[str, dict]:
    """Document id -> source, for every variant of the product."""
    return {doc_id(v.id): variant_source(product, v) for v in product.variants}


def index_actions(index: str, products: list[ProductDocument]) -> list[dict]:
    """Bulk `index` actions (whole documents, so a re-run writes the same thing)."""
    return [
        {"_op_type": "index", "_index": index, "_id": _id, "_source": source}
        for product in products
        for _id, source in product_sources(product).items()
    ]


def delete_actions(index: str, ids: list[str]) -> list[dict]:
    return [{"_op_type": "delete", "_index": index, "_id": _id} for _id in ids]
