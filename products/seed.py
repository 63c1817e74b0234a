"""A realistic demo catalog, the same for the same seed, from a few hundred products to 100,000.

Rows go in with bulk inserts in batches (a progress bar per batch); the derived columns (price
range, rating) are computed by the same set-based UPDATEs the services use, and the caches are
told once at the end. Images are a dozen small generated pictures shared by the products.
"""

from __future__ import annotations

import io
import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils.text import slugify
from tqdm import tqdm

from core.models import User
from products.attribute_values import coerce, filter_key
from products.attributes import definitions_for_category
from products.models import (
    AttributeDefinition,
    AttributeType,
    Brand,
    Category,
    Product,
    ProductAttributeValue,
    ProductImage,
    Review,
    ReviewStatus,
    StockMovement,
    Variant,
    VariantAttributeValue,
)
from products.services.events import catalog_structure_changed_on_commit
from products.services.products import product_prices_refresh, variants_bulk_create
from products.services.reviews import product_rating_refresh

BATCH = 2000
SEED_EPOCH = datetime(2026, 11, 1, tzinfo=UTC)  # fixed: the same seed gives the same dates
IMAGE_COUNT = 12
REVIEWERS = 40
COLORS = ["Black", "White", "Navy", "Red", "Olive", "Grey", "Blue", "Sand"]
SHOE_SIZES = [str(n) for n in range(38, 47)]
CLOTHING_SIZES = ["XS", "S", "M", "L", "XL", "XXL"]


@dataclass(frozen=True)
class Kind:
    """How products of a leaf category look: names, prices, options, product attributes."""

    nouns: tuple[str, ...]
    price: tuple[int, int]
    options: tuple[str, ...] = ()  # variant attribute codes
    attributes: tuple[str, ...] = ()  # product attribute codes
    brands: tuple[str, ...] = ()


APPAREL_BRANDS = ("Northpeak", "Stride", "Kestrel", "Lumen", "Altura", "Fieldhouse")
TECH_BRANDS = ("Voltrix", "Orbis", "Zenware", "Helio", "Quanta")
HOME_BRANDS = ("Hearth & Co", "Maison Verte", "Oakline", "Brewster")
SPORT_BRANDS = ("Velocita", "Summit Gear", "Flowform")

SHOES = Kind(
    ("Runner", "Trainer", "Racer", "Glide", "Tempo", "Cruiser"),
    (60, 180),
    ("color", "size"),
    ("material",),
    APPAREL_BRANDS,
)
TOPS = Kind(
    ("Tee", "Crew", "Hoodie", "Henley", "Pullover"),
    (15, 90),
    ("color", "size"),
    ("material",),
    APPAREL_BRANDS,
)
BOTTOMS = Kind(
    ("Jeans", "Chino", "Jogger", "Short"),
    (25, 120),
    ("color", "size"),
    ("material",),
    APPAREL_BRANDS,
)
LAPTOPS = Kind(
    ("Book", "Air", "Pro", "Blade", "Note"),
    (600, 2800),
    ("ram", "storage"),
    ("screen_size", "cpu"),
    TECH_BRANDS,
)
AUDIO = Kind(
    ("Buds", "Studio", "Wave", "Pulse", "Echo"),
    (30, 400),
    ("color",),
    ("wireless", "battery_life"),
    TECH_BRANDS,
)
PHONES = Kind(
    ("Phone", "One", "Edge", "Nova"),
    (200, 1400),
    ("color", "storage"),
    ("screen_size",),
    TECH_BRANDS,
)
KITCHEN = Kind(
    ("Pan", "Kettle", "Grinder", "Pot", "Press"),
    (12, 250),
    ("color",),
    ("material", "capacity"),
    HOME_BRANDS,
)
FURNITURE = Kind(
    ("Chair", "Desk", "Stool", "Shelf"), (40, 900), ("color",), ("material",), HOME_BRANDS
)
SPORT = Kind(
    ("Helmet", "Mat", "Bottle", "Band"), (10, 220), ("color", "size"), ("material",), SPORT_BRANDS
)

# Root > subcategory > leaf (with the kind of products it holds).
TREE: dict[str, dict[str, dict[str, Kind]]] = {
    "Apparel": {
        "Shoes": {"Running": SHOES, "Trail": SHOES, "Sneakers": SHOES},
        "Tops": {"T-Shirts": TOPS, "Hoodies": TOPS},
        "Bottoms": {"Jeans": BOTTOMS, "Shorts": BOTTOMS},
    },
    "Electronics": {
        "Laptops": {"Ultrabooks": LAPTOPS, "Gaming Laptops": LAPTOPS},
        "Audio": {"Headphones": AUDIO, "Speakers": AUDIO},
        "Phones": {"Smartphones": PHONES},
    },
    "Home": {
        "Kitchen": {"Cookware": KITCHEN, "Coffee": KITCHEN},
        "Furniture": {"Chairs": FURNITURE, "Desks": FURNITURE},
    },
    "Sports": {"Cycling": {"Helmets": SPORT}, "Fitness": {"Yoga": SPORT}},
}

# code: (name, type, choices, unit, variant-level, the categories it hangs on; none: everywhere).
# Every code a Kind uses must apply to its leaves (checked as the seed starts: _leaf_definitions).
DEFINITIONS = {
    "color": ("Color", AttributeType.CHOICE, COLORS, "", True, ()),
    "material": ("Material", AttributeType.TEXT, [], "", False, ()),
    "size": (
        "Size",
        AttributeType.CHOICE,
        CLOTHING_SIZES + SHOE_SIZES,
        "",
        True,
        ("Apparel", "Sports"),
    ),
    "ram": ("RAM", AttributeType.CHOICE, ["8", "16", "32", "64"], "GB", True, ("Electronics",)),
    "storage": (
        "Storage",
        AttributeType.CHOICE,
        ["128", "256", "512", "1024"],
        "GB",
        True,
        ("Electronics",),
    ),
    "screen_size": ("Screen size", AttributeType.NUMBER, [], "in", False, ("Electronics",)),
    "cpu": ("Processor", AttributeType.TEXT, [], "", False, ("Laptops",)),
    "wireless": ("Wireless", AttributeType.BOOLEAN, [], "", False, ("Audio",)),
    "battery_life": ("Battery life", AttributeType.NUMBER, [], "h", False, ("Audio",)),
    "capacity": ("Capacity", AttributeType.NUMBER, [], "L", False, ("Kitchen",)),
}
ADJECTIVES = [
    "Classic",
    "Ultra",
    "Light",
    "Urban",
    "Trail",
    "Prime",
    "Everyday",
    "Air",
    "Flex",
    "Pro",
    "Eco",
    "Studio",
    "Compact",
    "Max",
    "Core",
    "Swift",
]
MATERIALS = [
    "Cotton",
    "Merino wool",
    "Recycled polyester",
    "Mesh",
    "Leather",
    "Canvas",
    "Stainless steel",
    "Cast iron",
    "Oak",
    "Bamboo",
    "Aluminium",
    "Nylon",
]
CPUS = ["Orbis M3", "Helio X9", "Quanta 7 Ultra", "Zen 8 HS"]
REVIEW_LINES = [
    ("Love it", "Exactly as described and arrived quickly."),
    ("Great value", "Good quality for the price; would buy again."),
    ("Solid", "Does the job. Nothing fancy, nothing wrong."),
    ("Not for me", "Fit was a bit off, but returns were easy."),
    ("Disappointed", "Stopped working properly after a few weeks."),
]


@dataclass
class SeedReport:
    categories: int = 0
    brands: int = 0
    products: int = 0
    variants: int = 0
    reviews: int = 0
    images: int = 0
    skipped: bool = False
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.skipped:
            return "catalog already present: seeding skipped (--reset rebuilds it)"
        return (
            f"seeded {self.categories} categories, {self.brands} brands, "
            f"{self.products} products, {self.variants} variants, {self.images} images, "
            f"{self.reviews} reviews"
        )


def catalog_exists() -> bool:
    return Product.objects.exists()


@transaction.atomic
def catalog_reset() -> None:
    """Delete the whole catalog (and its ledger and reviews)."""
    StockMovement.objects.all().delete()
    Review.objects.all().delete()
    Product.objects.all().delete()
    AttributeDefinition.objects.all().delete()
    Brand.objects.all().delete()
    for category in Category.objects.order_by("-depth"):
        category.delete()
    catalog_structure_changed_on_commit()


def seed_catalog(
    *,
    products: int = 300,
    seed: int = 42,
    variants: int | None = None,
    reviews: bool = True,
    progress: bool = True,
    reset: bool = False,
) -> SeedReport:
    """Seed the demo catalog; a no-op when products exist (unless `reset`).

    `variants`: exactly that many variants for every product that has options (the benchmark
    uses 4); None gives a natural mix (1 to 6, some products without options).
    """
    if reset:
        catalog_reset()
    elif catalog_exists():
        return SeedReport(skipped=True)
    rng = random.Random(seed)
    report = SeedReport()
    with transaction.atomic():
        categories, leaves = _categories()
        report.categories = len(categories)
        brands = _brands()
        report.brands = len(brands)
        _definitions(categories)
        definitions = _leaf_definitions(leaves)
        images = _images(random.Random(0))  # its own stream: files may already exist
        reviewers = _reviewers() if reviews else []
        bar = tqdm(total=products, unit="product", desc="seed", disable=not progress)
        for start in range(0, products, BATCH):
            count = min(BATCH, products - start)
            batch = _Batch(rng, start, count, leaves, brands, definitions, images, variants)
            batch.write()
            report.products += count
            report.variants += batch.variant_count
            report.images += batch.image_count
            if reviewers:
                report.reviews += _reviews(rng, batch.products, reviewers)
            bar.update(count)
        bar.close()
        product_prices_refresh()
        product_rating_refresh()
        _analyze()
        catalog_structure_changed_on_commit()
    return report


def _analyze() -> None:
    """Fresh planner statistics: bulk-loaded tables otherwise look empty until autovacuum."""
    models = (
        Category,
        Brand,
        AttributeDefinition,
        Product,
        ProductAttributeValue,
        Variant,
        VariantAttributeValue,
        ProductImage,
        Review,
        StockMovement,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(m._meta.db_table for m in models))


def _categories() -> tuple[dict[str, Category], list[tuple[Category, Kind]]]:
    by_name: dict[str, Category] = {}
    leaves = []
    for position, (root, subs) in enumerate(TREE.items()):
        top = Category.objects.create(name=root, slug=slugify(root), position=position)
        by_name[root] = top
        for sub_position, (sub, leaf_kinds) in enumerate(subs.items()):
            middle = Category.objects.create(
                name=sub, slug=slugify(sub), parent=top, position=sub_position
            )
            by_name[sub] = middle
            for leaf_position, (leaf, kind) in enumerate(leaf_kinds.items()):
                node = Category.objects.create(
                    name=leaf, slug=slugify(leaf), parent=middle, position=leaf_position
                )
                by_name[leaf] = node
                leaves.append((node, kind))
    return by_name, leaves


def _brands() -> dict[str, Brand]:
    names = sorted({*APPAREL_BRANDS, *TECH_BRANDS, *HOME_BRANDS, *SPORT_BRANDS})
    created = Brand.objects.bulk_create(
        Brand(name=name, slug=slugify(name), description=f"{name}, made to last.") for name in names
    )
    return {brand.name: brand for brand in created}


def _definitions(categories: dict[str, Category]) -> None:
    rows = []
    for position, (code, (name, kind, choices, unit, variant_level, scopes)) in enumerate(
        DEFINITIONS.items()
    ):
        for scope in scopes or (None,):
            rows.append(
                AttributeDefinition(
                    code=code,
                    name=name,
                    type=kind,
                    choices=choices,
                    unit=unit,
                    is_variant_attribute=variant_level,
                    is_filterable=True,
                    position=position,
                    category=categories[scope] if scope else None,
                )
            )
    AttributeDefinition.objects.bulk_create(rows)


def _leaf_definitions(leaves: list[tuple[Category, Kind]]) -> dict[int, dict]:
    """{leaf id: {code: definition}}: what the services would let each leaf's products use
    (products.attributes). The bulk path writes values without the services' checks, so a Kind
    whose options or attributes its leaf does not have stops the seed here, not the first import
    of its export."""
    found = {}
    for leaf, kind in leaves:
        definitions = definitions_for_category(leaf)
        for codes, variant_level in ((kind.options, True), (kind.attributes, False)):
            for code in codes:
                definition = definitions.get(code)
                if definition is None or definition.is_variant_attribute != variant_level:
                    raise ValueError(f"the seed's {leaf.slug} products use {code!r}, not theirs")
        found[leaf.pk] = definitions
    return found


def _images(rng: random.Random) -> list[str]:
    """A dozen small generated pictures (a few KB each), stored once and shared."""
    from PIL import Image, ImageDraw

    names = []
    for n in range(IMAGE_COUNT):
        name = f"seed/demo-{n:02d}.jpg"
        if not default_storage.exists(name):
            hue = rng.randrange(256), rng.randrange(256), rng.randrange(256)
            picture = Image.new("RGB", (240, 240), hue)
            draw = ImageDraw.Draw(picture)
            inset = 40 + 10 * (n % 4)
            shade = tuple(255 - c for c in hue)
            shape = draw.ellipse if n % 2 else draw.rectangle
            shape((inset, inset, 240 - inset, 240 - inset), fill=shade)
            buffer = io.BytesIO()
            picture.save(buffer, format="JPEG", quality=70)
            name = default_storage.save(name, ContentFile(buffer.getvalue()))
        names.append(name)
    return names


def _reviewers() -> list[User]:
    password = make_password(None)  # unusable: they exist to have written reviews
    emails = [f"reviewer{n:02d}@emporium.test" for n in range(REVIEWERS)]
    existing = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
    first = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Linus"]
    last = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton"]
    User.objects.bulk_create(
        User(
            email=email,
            password=password,
            first_name=first[n % len(first)],
            last_name=last[n % len(last)],
            email_verified=True,
        )
        for n, email in enumerate(emails)
        if email not in existing
    )
    return list(User.objects.filter(email__in=emails).order_by("email"))


class _Batch:
    """One batch of products with their variants, values, images and opening stock."""

    def __init__(self, rng, start, count, leaves, brands, definitions, images, variants):
        self.rng = rng
        self.start = start
        self.count = count
        self.leaves = leaves
        self.brands = brands
        self.definitions = definitions
        self.images = images
        self.variants_per_product = variants
        self.variant_count = 0
        self.image_count = 0
        self.products: list[Product] = []
        self._coerced: dict[tuple[int, str], tuple] = {}

    def value(self, model, owner_field, owner, category, code, raw):
        definition = self.definitions[category.pk][code]
        key = (definition.pk, str(raw))
        if key not in self._coerced:
            self._coerced[key] = coerce(definition, raw)
        text, number, boolean = self._coerced[key]
        return model(
            definition=definition,
            value_text=text,
            value_number=number,
            value_boolean=boolean,
            value_key=filter_key(text),
            **{owner_field: owner},
        )

    def write(self) -> None:
        rng = self.rng
        plans = []
        for index in range(self.start, self.start + self.count):
            category, kind = self.leaves[rng.randrange(len(self.leaves))]
            brand = self.brands[rng.choice(kind.brands)]
            noun = rng.choice(kind.nouns)
            name = f"{brand.name} {rng.choice(ADJECTIVES)} {noun} {rng.randrange(10, 99)}"
            low, high = kind.price
            base = Decimal(rng.randrange(low, high)) + Decimal("0.99")
            product = Product(
                name=name,
                slug=f"{slugify(name)}-{index + 1}",
                description=(
                    f"The {name} is a {noun.lower()} from {brand.name}, built for every day. "
                    f"{rng.choice(['Light', 'Durable', 'Comfortable', 'Quiet'])} and "
                    f"{rng.choice(['easy to care for', 'made to last', 'great value'])}."
                ),
                brand=brand,
                category=category,
                base_price=base,
                is_active=rng.random() > 0.03,
                is_featured=rng.random() < 0.05,
                sales_count=int(rng.paretovariate(1.5) * 10),
                created_at=SEED_EPOCH - timedelta(minutes=rng.randrange(0, 365 * 24 * 60)),
            )
            plans.append((product, kind))
        self.products = Product.objects.bulk_create([p for p, _k in plans])
        variants, opening_stock, product_values, variant_options, images = [], [], [], [], []
        for position, ((product, kind), sku_index) in enumerate(
            zip(plans, range(self.start, self.start + self.count), strict=True)
        ):
            product_values += self.product_attributes(product, kind)
            combos = self.combos(kind, product.category)
            for i, combo in enumerate(combos):
                extra = Decimal(10 * i) if kind.options and i else Decimal(0)
                variant = Variant(
                    product=product,
                    sku=f"EM{sku_index + 1:06d}-{i + 1}",
                    name=" / ".join(str(v) for _c, v in combo),
                    price=(product.base_price + extra) if extra else None,
                    compare_at_price=(product.base_price + extra + Decimal(20))
                    if rng.random() < 0.15
                    else None,
                    position=i,
                )
                variants.append(variant)
                opening_stock.append(0 if rng.random() < 0.08 else rng.randrange(1, 60))
                variant_options.append(combo)
            for n in range(1 + (position % 3 == 0)):
                images.append(
                    ProductImage(
                        product=product,
                        image=self.images[(sku_index + n) % len(self.images)],
                        alt=f"{product.name}, view {n + 1}",
                        position=n,
                        width=240,
                        height=240,
                    )
                )
        ProductAttributeValue.objects.bulk_create(product_values, batch_size=BATCH)
        variants_bulk_create(
            variants, opening_stock=opening_stock, reference="seed", at=SEED_EPOCH, batch_size=BATCH
        )
        VariantAttributeValue.objects.bulk_create(
            [
                self.value(VariantAttributeValue, "variant", v, v.product.category, code, raw)
                for v, combo in zip(variants, variant_options, strict=True)
                for code, raw in combo
            ],
            batch_size=BATCH,
        )
        ProductImage.objects.bulk_create(images, batch_size=BATCH)
        self.variant_count = len(variants)
        self.image_count = len(images)

    def combos(self, kind: Kind, category: Category) -> list[tuple[tuple[str, str], ...]]:
        """The option values of each variant; [()] for a product without options."""
        rng = self.rng
        if not kind.options or (self.variants_per_product is None and rng.random() < 0.2):
            return [()]
        pools = []
        for code in kind.options:
            choices = list(self.definitions[category.pk][code].choices)
            if code == "size":
                choices = SHOE_SIZES if kind is SHOES else CLOTHING_SIZES
            pools.append([(code, value) for value in choices])
        everything = list(itertools.product(*pools))
        wanted = self.variants_per_product or rng.randint(2, 6)
        if wanted <= 1:
            return [()] if wanted == 0 else [everything[0]]
        return sorted(rng.sample(everything, min(wanted, len(everything))))

    def product_attributes(self, product: Product, kind: Kind) -> list[ProductAttributeValue]:
        rng = self.rng
        makers = {
            "material": lambda: rng.choice(MATERIALS),
            "screen_size": lambda: rng.choice(["13.3", "14", "15.6", "16", "6.1", "6.7"]),
            "cpu": lambda: rng.choice(CPUS),
            "wireless": lambda: rng.random() < 0.7,
            "battery_life": lambda: rng.randrange(6, 60),
            "capacity": lambda: rng.choice(["0.5", "1", "1.7", "3", "5"]),
        }
        return [
            self.value(
                ProductAttributeValue, "product", product, product.category, code, makers[code]()
            )
            for code in kind.attributes
        ]


def _reviews(rng: random.Random, products: list[Product], reviewers: list[User]) -> int:
    rows = []
    for product in products:
        if rng.random() > 0.35:
            continue
        for user in rng.sample(reviewers, rng.randint(1, 5)):
            rating = rng.choices([5, 4, 3, 2, 1], weights=[45, 30, 12, 7, 6])[0]
            title, body = REVIEW_LINES[5 - rating]
            rows.append(
                Review(
                    product=product,
                    user=user,
                    rating=rating,
                    title=title,
                    body=body,
                    status=ReviewStatus.PUBLISHED if rng.random() < 0.9 else ReviewStatus.PENDING,
                    created_at=product.created_at + timedelta(days=rng.randrange(1, 60)),
                )
            )
    Review.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)
