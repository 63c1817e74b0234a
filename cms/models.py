"""Storefront content: static pages, banners with a schedule, the homepage's sections, menus,
the footer and service guarantees (docs/architecture.md §3, Content).

Merchants edit all of it in the admin; the public API (cms/answers.py) serves only what is
published (and, for banners, inside its window). Rich text is sanitised whenever a row is
written (cms/richtext.py); links are checked by the same rule (`validate_link`).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from cms.richtext import RichTextField, validate_link

MAX_MENU_DEPTH = 3
MAX_CAROUSEL_PRODUCTS = 24


class Publishable(models.Model):
    is_published = models.BooleanField(
        default=False, help_text="Only published content reaches the storefront."
    )
    position = models.IntegerField(default=0, help_text="Order on the page (lowest first).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Page(models.Model):
    """A static page (about, shipping, returns, privacy) at /pages/<slug>."""

    slug = models.SlugField(max_length=140, unique=True)
    title = models.CharField(max_length=200)
    summary = models.CharField(
        max_length=300, blank=True, help_text="One sentence for search engines and link previews."
    )
    body = RichTextField(blank=True, help_text="Sanitised on save: no scripts, no event handlers.")
    is_published = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title


class Placement(models.TextChoices):
    HOME_HERO = "home_hero", "Homepage hero"
    HOME_STRIP = "home_strip", "Homepage strip"
    SITE_TOP = "site_top", "Announcement bar (every page)"
    CART = "cart", "Cart page"


class Banner(Publishable):
    """A banner in one placement, shown while published and inside its window: from `starts_at`
    (none: at once) until `ends_at` (none: until unpublished)."""

    placement = models.CharField(max_length=20, choices=Placement.choices)
    title = models.CharField(max_length=200)
    subtitle = models.CharField(max_length=300, blank=True)
    image = models.ImageField(upload_to="cms/banners/", blank=True)
    image_alt = models.CharField(max_length=200, blank=True)
    link_url = models.CharField(max_length=500, blank=True, validators=[validate_link])
    cta_label = models.CharField("button label", max_length=60, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["placement", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(ends_at__gt=F("starts_at")),
                name="cms_banner_window_ordered",
                violation_error_message="The banner must end after it starts.",
            ),
        ]
        indexes = [models.Index(fields=["placement", "position"], name="cms_banner_placement")]

    def __str__(self) -> str:
        return self.title


class SectionKind(models.TextChoices):
    BANNERS = "banners", "Banners (hero)"
    CATEGORIES = "categories", "Featured categories"
    PRODUCTS = "products", "Product carousel"
    TEXT = "text", "Text"


class CarouselRule(models.TextChoices):
    """How a carousel picks its products; each rule but `manual` is a catalog sort
    (cms/selectors.py, RULE_SORTS)."""

    MANUAL = "manual", "Chosen by hand"
    BEST_SELLERS = "best_sellers", "Best sellers"
    NEWEST = "newest", "Newest"
    TOP_RATED = "top_rated", "Top rated"
    FEATURED = "featured", "Featured products"


class HomepageSection(Publishable):
    """One block of the homepage. A banners section shows the live banners of its placement; a
    categories section its chosen categories; a products carousel up to `product_limit` products
    by its rule (within `category` and its subcategories when set) or by hand; a text section
    its body. The storefront gets only sections with something to show."""

    kind = models.CharField(max_length=20, choices=SectionKind.choices)
    title = models.CharField(max_length=200, blank=True)
    subtitle = models.CharField(max_length=300, blank=True)
    placement = models.CharField(
        max_length=20, choices=Placement.choices, blank=True, help_text="Banners sections."
    )
    rule = models.CharField(
        max_length=20, choices=CarouselRule.choices, blank=True, help_text="Product carousels."
    )
    category = models.ForeignKey(
        "products.Category",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Product carousels by rule: only this category and the ones below it.",
    )
    product_limit = models.PositiveSmallIntegerField(
        default=8,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_CAROUSEL_PRODUCTS)],
        help_text=f"Product carousels: at most this many (1 to {MAX_CAROUSEL_PRODUCTS}).",
    )
    body = RichTextField(blank=True, help_text="Text sections. Sanitised on save.")

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind=SectionKind.BANNERS) | ~Q(placement=""),
                name="cms_section_banners_placement",
                violation_error_message="A banners section needs a placement.",
            ),
            models.CheckConstraint(
                condition=~Q(kind=SectionKind.PRODUCTS) | ~Q(rule=""),
                name="cms_section_products_rule",
                violation_error_message="A product carousel needs a rule.",
            ),
            models.CheckConstraint(
                condition=Q(product_limit__gte=1, product_limit__lte=MAX_CAROUSEL_PRODUCTS),
                name="cms_section_product_limit",
            ),
        ]

    def __str__(self) -> str:
        return self.title or self.get_kind_display()


class HomepageSectionCategory(models.Model):
    section = models.ForeignKey(
        HomepageSection, on_delete=models.CASCADE, related_name="category_items"
    )
    category = models.ForeignKey("products.Category", on_delete=models.CASCADE, related_name="+")
    position = models.IntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "featured category"
        constraints = [
            models.UniqueConstraint(
                fields=["section", "category"], name="cms_section_category_once"
            ),
        ]

    def __str__(self) -> str:
        return str(self.category)


class HomepageSectionProduct(models.Model):
    section = models.ForeignKey(
        HomepageSection, on_delete=models.CASCADE, related_name="product_items"
    )
    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="+")
    position = models.IntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "hand-picked product"
        constraints = [
            models.UniqueConstraint(fields=["section", "product"], name="cms_section_product_once"),
        ]

    def __str__(self) -> str:
        return str(self.product)


class Menu(models.Model):
    """A navigation menu (header, footer columns...), fetched by its slug."""

    slug = models.SlugField(max_length=60, unique=True)
    title = models.CharField(max_length=120)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.title


class LinkKind(models.TextChoices):
    CATEGORY = "category", "Category"
    PAGE = "page", "Page"
    URL = "url", "URL"


class MenuItem(models.Model):
    """A link in a menu, to a category, a page or a URL; items nest under a `parent` of the
    same menu, at most MAX_MENU_DEPTH levels. A link to a hidden category or an unpublished
    page is left out of the answer, with the items under it."""

    menu = models.ForeignKey(Menu, on_delete=models.CASCADE, related_name="items")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    label = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=LinkKind.choices, default=LinkKind.URL)
    category = models.ForeignKey(
        "products.Category", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    page = models.ForeignKey(
        Page, null=True, blank=True, on_delete=models.CASCADE, related_name="menu_items"
    )
    url = models.CharField(max_length=500, blank=True, validators=[validate_link])
    position = models.IntegerField(default=0)
    is_published = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind=LinkKind.CATEGORY, category__isnull=False)
                    | Q(kind=LinkKind.PAGE, page__isnull=False)
                    | (Q(kind=LinkKind.URL) & ~Q(url=""))
                ),
                name="cms_menu_item_target",
                violation_error_message="Choose the category, page or URL the item links to.",
            ),
            models.CheckConstraint(
                condition=~Q(parent=F("id")), name="cms_menu_item_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        super().clean()
        if self.parent_id is None:
            return
        parent = self.parent
        if parent.menu_id != self.menu_id:
            raise ValidationError({"parent": "The parent must be an item of the same menu."})
        depth, seen = 1, {self.pk}
        while parent is not None:
            if parent.pk in seen:
                raise ValidationError({"parent": "An item cannot be under itself."})
            seen.add(parent.pk)
            depth += 1
            parent = parent.parent
        if depth > MAX_MENU_DEPTH:
            raise ValidationError({"parent": f"Menus nest at most {MAX_MENU_DEPTH} levels."})


class Footer(models.Model):
    """The footer, one row: its text, its link columns (menus) and the copyright line."""

    text = RichTextField(blank=True, help_text="Sanitised on save.")
    copyright = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "footer"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="cms_footer_single_row")]

    def __str__(self) -> str:
        return "Footer"

    def save(self, *args, **kwargs) -> None:
        self.pk = 1  # the one row
        super().save(*args, **kwargs)


class FooterColumn(models.Model):
    footer = models.ForeignKey(Footer, on_delete=models.CASCADE, related_name="columns")
    menu = models.ForeignKey(Menu, on_delete=models.CASCADE, related_name="+")
    position = models.IntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["footer", "menu"], name="cms_footer_menu_once"),
        ]

    def __str__(self) -> str:
        return str(self.menu)


class GuaranteeKind(models.TextChoices):
    FREE_SHIPPING = "free_shipping", "Free shipping over the threshold"
    RETURNS = "returns", "Returns"
    SUPPORT = "support", "Support"
    SECURE_PAYMENT = "secure_payment", "Secure payment"
    OTHER = "other", "Other"


class Guarantee(Publishable):
    """A service promise shown beside the products. In a free-shipping guarantee "{threshold}"
    is replaced by the cart's own threshold (SHIPPING_FREE_THRESHOLD, cart/pricing.py), so the
    promise and the checkout cannot disagree; with free shipping off it is not shown."""

    kind = models.CharField(max_length=20, choices=GuaranteeKind.choices)
    title = models.CharField(max_length=120, help_text='e.g. "Free shipping over {threshold}"')
    text = models.CharField(max_length=300, blank=True)
    link_url = models.CharField(max_length=500, blank=True, validators=[validate_link])

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title
