"""The content API's answers. Plain pydantic models (as the catalog's public answers are), built
from the selectors' rows and view objects and serialised straight to the cached bytes; a
carousel's products are the catalog list's own items (ProductListItemOut)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from cms.models import CarouselRule, GuaranteeKind, LinkKind, Placement
from products.media import image_url
from products.schemas import CategoryRefOut, ImageRefOut, Out, ProductListItemOut

PlacementName = Literal[tuple(Placement.values)]  # type: ignore[valid-type]


class BannerOut(Out):
    id: int
    placement: PlacementName
    title: str
    subtitle: str
    image: ImageRefOut | None
    link_url: str
    cta_label: str
    starts_at: datetime | None
    ends_at: datetime | None

    @model_validator(mode="before")
    @classmethod
    def _image(cls, row: dict) -> dict:
        """A row's stored image name and alt text as the image's URL and alt."""
        if isinstance(row, dict) and "image_alt" in row:
            name = row.get("image")
            row = {
                **row,
                "image": {"url": image_url(name), "alt": row["image_alt"]} if name else None,
            }
        return row


class CategoryCardOut(CategoryRefOut):
    description: str
    url: str


class _Section(Out):
    id: int
    title: str
    subtitle: str


class BannersSectionOut(_Section):
    kind: Literal["banners"]
    placement: PlacementName
    banners: list[BannerOut]


class CategoriesSectionOut(_Section):
    kind: Literal["categories"]
    categories: list[CategoryCardOut]


class ProductsSectionOut(_Section):
    kind: Literal["products"]
    rule: Literal[tuple(CarouselRule.values)]  # type: ignore[valid-type]
    category: CategoryRefOut | None = Field(
        description="Rule carousels limited to a category (and the ones below it)."
    )
    products: list[ProductListItemOut] = Field(
        description="In stock and visible only; the catalog list's items."
    )


class TextSectionOut(_Section):
    kind: Literal["text"]
    body: str = Field(description="Sanitised HTML.")


SectionOut = Annotated[
    BannersSectionOut | CategoriesSectionOut | ProductsSectionOut | TextSectionOut,
    Field(discriminator="kind"),
]


class HomepageOut(Out):
    sections: list[SectionOut]


class PageRefOut(Out):
    slug: str
    title: str


class LinkOut(Out):
    model_config = ConfigDict(from_attributes=True)

    label: str
    kind: Literal[tuple(LinkKind.values)]  # type: ignore[valid-type]
    url: str = Field(description="Where it points: a storefront path or the URL given.")
    category: CategoryRefOut | None
    page: PageRefOut | None
    children: list[LinkOut]


class MenuOut(Out):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    title: str
    items: list[LinkOut]


class FooterOut(Out):
    model_config = ConfigDict(from_attributes=True)

    text: str = Field(description="Sanitised HTML.")
    copyright: str
    columns: list[MenuOut]


class PageOut(Out):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    title: str
    summary: str
    body: str = Field(description="Sanitised HTML.")
    updated_at: datetime


class GuaranteeOut(Out):
    model_config = ConfigDict(from_attributes=True)

    kind: Literal[tuple(GuaranteeKind.values)]  # type: ignore[valid-type]
    title: str
    text: str
    link_url: str
    threshold: Decimal | None = Field(
        description="Free shipping: the order subtotal from which shipping is free."
    )
    currency: str | None
