"""The fixed relevance catalog: 41 products over shoes, clothing, electronics and kitchen, with
brands, colours, sizes and accents ("Café Crème"), and the synonym sets the queries rely on.

Every backend is tested against the same rows (search/tests/test_relevance.py).
"""

from __future__ import annotations

from decimal import Decimal

from products.models import AttributeDefinition, AttributeType, Brand, Category, Product, Variant
from products.services.products import product_prices_refresh
from search.models import Synonym
from testing.factories import set_value

SYNONYMS = [
    "sneakers, trainers",
    "headphones, earphones, headset",
    "laptop, notebook",
    "hoodie, sweatshirt",
]

TREE = {
    "Apparel": {
        "Shoes": ["Running", "Trail", "Sneakers"],
        "Clothing": ["T-Shirts", "Hoodies", "Jackets"],
    },
    "Electronics": {"Audio": ["Headphones", "Speakers"], "Phones": [], "Laptops": []},
    "Home": {"Kitchen": ["Coffee", "Cookware"]},
}

# (name, brand, leaf category, price, product attributes, variants: (sku, price delta, stock,
#  variant attributes)), description; the name doubles as the key tests refer to.
PRODUCTS = [
    (
        "Ultraboost 22",
        "Adidas",
        "Running",
        180,
        {"material": "Primeknit"},
        [
            ("ADI-UB22-BLU-42", 0, 5, {"color": "Blue", "size": "42"}),
            ("ADI-UB22-BLK-43", 0, 3, {"color": "Black", "size": "43"}),
            ("ADI-UB22-WHT-42", 0, 0, {"color": "White", "size": "42"}),
        ],
        "Responsive running shoe with a Boost midsole for long runs.",
    ),
    (
        "Pegasus 40",
        "Nike",
        "Running",
        130,
        {"material": "Mesh"},
        [
            ("NK-PEG40-BLU-42", 0, 8, {"color": "Blue", "size": "42"}),
            ("NK-PEG40-RED-44", 0, 2, {"color": "Red", "size": "44"}),
        ],
        "The everyday road running shoe, cushioned and durable.",
    ),
    (
        "Vaporfly Next% 3",
        "Nike",
        "Running",
        260,
        {"material": "Mesh"},
        [
            ("NK-VF3-WHT-41", 0, 4, {"color": "White", "size": "41"}),
        ],
        "Carbon plated racing shoe for marathon day.",
    ),
    (
        "Velocity Nitro 2",
        "Puma",
        "Running",
        120,
        {"material": "Mesh"},
        [
            ("PU-VN2-BLU-43", 0, 6, {"color": "Blue", "size": "43"}),
            ("PU-VN2-BLK-42", 0, 6, {"color": "Black", "size": "42"}),
        ],
        "Nitro foam running shoe for daily training.",
    ),
    (
        "Gel-Kayano 30",
        "Asics",
        "Running",
        160,
        {"material": "Mesh"},
        [
            ("AS-GK30-BLU-42", 0, 7, {"color": "Blue", "size": "42"}),
            ("AS-GK30-GRY-44", 0, 7, {"color": "Grey", "size": "44"}),
        ],
        "Stability running shoe with gel cushioning.",
    ),
    (
        "Fresh Foam 1080",
        "New Balance",
        "Running",
        165,
        {"material": "Mesh"},
        [
            ("NB-FF1080-BLK-42", 0, 3, {"color": "Black", "size": "42"}),
        ],
        "Plush neutral running shoe.",
    ),
    (
        "Terrex Swift R3",
        "Adidas",
        "Trail",
        140,
        {"material": "Gore-Tex"},
        [
            ("ADI-TSR3-GRN-43", 0, 4, {"color": "Green", "size": "43"}),
        ],
        "Hiking and trail running shoe with a grippy outsole.",
    ),
    (
        "Pegasus Trail 4",
        "Nike",
        "Trail",
        140,
        {"material": "Mesh"},
        [
            ("NK-PT4-BLK-42", 0, 4, {"color": "Black", "size": "42"}),
        ],
        "Road to trail running shoe.",
    ),
    (
        "Speedcross 6",
        "Salomon",
        "Trail",
        150,
        {"material": "Mesh"},
        [
            ("SA-SC6-BLK-42", 0, 4, {"color": "Black", "size": "42"}),
            ("SA-SC6-RED-43", 0, 4, {"color": "Red", "size": "43"}),
        ],
        "Aggressive grip for soft trail terrain.",
    ),
    (
        "Stan Smith",
        "Adidas",
        "Sneakers",
        100,
        {"material": "Leather"},
        [
            ("ADI-SS-WHT-42", 0, 9, {"color": "White", "size": "42"}),
        ],
        "The classic white leather tennis shoe.",
    ),
    (
        "Air Force 1 '07",
        "Nike",
        "Sneakers",
        115,
        {"material": "Leather"},
        [
            ("NK-AF1-WHT-42", 0, 9, {"color": "White", "size": "42"}),
            ("NK-AF1-BLK-43", 0, 9, {"color": "Black", "size": "43"}),
        ],
        "Basketball icon turned street classic.",
    ),
    (
        "Suede Classic XXI",
        "Puma",
        "Sneakers",
        75,
        {"material": "Suede"},
        [
            ("PU-SC-RED-42", 0, 5, {"color": "Red", "size": "42"}),
            ("PU-SC-BLU-42", 0, 5, {"color": "Blue", "size": "42"}),
        ],
        "Suede low-top since 1968.",
    ),
    (
        "Chuck Taylor All Star",
        "Converse",
        "Sneakers",
        65,
        {"material": "Canvas"},
        [
            ("CV-CT-BLK-41", 0, 5, {"color": "Black", "size": "41"}),
        ],
        "Canvas high-top.",
    ),
    (
        "Trefoil Tee",
        "Adidas",
        "T-Shirts",
        30,
        {"material": "Cotton"},
        [
            ("ADI-TT-BLK-M", 0, 10, {"color": "Black", "size": "M"}),
            ("ADI-TT-WHT-L", 0, 10, {"color": "White", "size": "L"}),
        ],
        "Soft cotton t-shirt with the Trefoil logo.",
    ),
    (
        "Dri-FIT Running Tee",
        "Nike",
        "T-Shirts",
        35,
        {"material": "Polyester"},
        [
            ("NK-DF-BLU-M", 0, 10, {"color": "Blue", "size": "M"}),
        ],
        "Sweat-wicking shirt for runs.",
    ),
    (
        "Essentials Logo Tee",
        "Puma",
        "T-Shirts",
        25,
        {"material": "Cotton"},
        [
            ("PU-ELT-RED-S", 0, 10, {"color": "Red", "size": "S"}),
        ],
        "Everyday cotton tee.",
    ),
    (
        "Tech Fleece Hoodie",
        "Nike",
        "Hoodies",
        120,
        {"material": "Fleece"},
        [
            ("NK-TF-GRY-M", 0, 5, {"color": "Grey", "size": "M"}),
        ],
        "Lightweight warmth in a slim fit.",
    ),
    (
        "Essentials Hoodie",
        "Adidas",
        "Hoodies",
        60,
        {"material": "Cotton"},
        [
            ("ADI-EH-BLK-L", 0, 5, {"color": "Black", "size": "L"}),
        ],
        "Cosy fleece-lined pullover.",
    ),
    (
        "Nuptse Jacket",
        "The North Face",
        "Jackets",
        320,
        {"material": "Down"},
        [
            ("TNF-NUP-BLK-M", 0, 2, {"color": "Black", "size": "M"}),
        ],
        "Iconic puffer jacket with goose down.",
    ),
    (
        "Nano Puff Jacket",
        "Patagonia",
        "Jackets",
        240,
        {"material": "Polyester"},
        [
            ("PAT-NP-BLU-L", 0, 2, {"color": "Blue", "size": "L"}),
        ],
        "Packable insulated jacket.",
    ),
    (
        "WH-1000XM5 Wireless Headphones",
        "Sony",
        "Headphones",
        399,
        {"wireless": True},
        [
            ("SNY-XM5-BLK", 0, 6, {"color": "Black"}),
            ("SNY-XM5-SLV", 0, 6, {"color": "Silver"}),
        ],
        "Industry-leading noise cancelling over-ear headphones.",
    ),
    (
        "QuietComfort Ultra Headphones",
        "Bose",
        "Headphones",
        429,
        {"wireless": True},
        [
            ("BOSE-QCU-BLK", 0, 4, {"color": "Black"}),
        ],
        "Immersive audio with world-class noise cancelling.",
    ),
    (
        "AirPods Pro 2",
        "Apple",
        "Headphones",
        249,
        {"wireless": True},
        [
            ("APL-APP2-WHT", 0, 12, {"color": "White"}),
        ],
        "In-ear buds with active noise cancellation.",
    ),
    (
        "HD 600",
        "Sennheiser",
        "Headphones",
        299,
        {"wireless": False},
        [
            ("SEN-HD600-BLK", 0, 3, {"color": "Black"}),
        ],
        "Open-back reference headphones for the studio.",
    ),
    (
        "SRS-XB100 Bluetooth Speaker",
        "Sony",
        "Speakers",
        59,
        {"wireless": True},
        [
            ("SNY-XB100-BLK", 0, 8, {"color": "Black"}),
        ],
        "Compact portable speaker with strap.",
    ),
    (
        "SoundLink Flex",
        "Bose",
        "Speakers",
        149,
        {"wireless": True},
        [
            ("BOSE-SLF-BLU", 0, 8, {"color": "Blue"}),
        ],
        "Waterproof portable bluetooth speaker.",
    ),
    (
        "Charge 5",
        "JBL",
        "Speakers",
        179,
        {"wireless": True},
        [
            ("JBL-CH5-RED", 0, 8, {"color": "Red"}),
        ],
        "Portable speaker with a built-in powerbank.",
    ),
    (
        "iPhone 15 Pro",
        "Apple",
        "Phones",
        999,
        {},
        [
            ("APL-IP15P-128", 0, 5, {"storage": "128"}),
            ("APL-IP15P-256", 150, 5, {"storage": "256"}),
        ],
        "Titanium smartphone with the A17 Pro chip.",
    ),
    (
        "Galaxy S24",
        "Samsung",
        "Phones",
        899,
        {},
        [
            ("SAM-S24-256", 0, 5, {"storage": "256"}),
        ],
        "Android smartphone with Galaxy AI.",
    ),
    (
        "Pixel 8",
        "Google",
        "Phones",
        699,
        {},
        [
            ("GOO-PX8-128", 0, 5, {"storage": "128"}),
        ],
        "Smartphone with the Tensor G3 chip.",
    ),
    (
        "MacBook Air 13",
        "Apple",
        "Laptops",
        1099,
        {},
        [
            ("APL-MBA13-256", 0, 4, {"storage": "256"}),
        ],
        "Thin and light laptop with the M3 chip.",
    ),
    (
        "XPS 13",
        "Dell",
        "Laptops",
        999,
        {},
        [
            ("DEL-XPS13-512", 0, 4, {"storage": "512"}),
        ],
        "Compact ultrabook with an InfinityEdge display.",
    ),
    (
        "ThinkPad X1 Carbon",
        "Lenovo",
        "Laptops",
        1499,
        {},
        [
            ("LEN-X1C-512", 0, 4, {"storage": "512"}),
        ],
        "Business laptop with a legendary keyboard.",
    ),
    (
        "Café Crème Espresso Beans",
        "Maison Café",
        "Coffee",
        15,
        {},
        [
            ("MC-CCE-1KG", 0, 20, {}),
        ],
        "Whole coffee beans, medium roast, for espresso.",
    ),
    (
        "Dedica Espresso Machine",
        "De'Longhi",
        "Coffee",
        249,
        {},
        [
            ("DL-DED-SLV", 0, 3, {"color": "Silver"}),
        ],
        "Slim pump espresso maker.",
    ),
    (
        "Moka Express",
        "Bialetti",
        "Coffee",
        35,
        {},
        [
            ("BIA-MOKA-6", 0, 10, {}),
        ],
        "Stovetop coffee maker, six cups.",
    ),
    (
        "V60 Coffee Dripper",
        "Hario",
        "Coffee",
        25,
        {},
        [
            ("HAR-V60-02", 0, 10, {}),
        ],
        "Pour-over cone for filter coffee.",
    ),
    (
        "Crème Brûlée Ramekin",
        "Le Creuset",
        "Cookware",
        22,
        {},
        [
            ("LC-CBR-RED", 0, 10, {"color": "Red"}),
        ],
        "Stoneware dish for crème brûlée.",
    ),
    (
        "Cast Iron Skillet",
        "Lodge",
        "Cookware",
        45,
        {},
        [
            ("LOD-CIS-10", 0, 10, {}),
        ],
        "Pre-seasoned skillet, ten inches.",
    ),
    (
        "Non-Stick Frying Pan",
        "Tefal",
        "Cookware",
        39,
        {},
        [
            ("TEF-NSP-28", 0, 10, {}),
        ],
        "Frying pan with a titanium non-stick coating.",
    ),
]
INACTIVE = ("Hidden Runner", "Adidas", "Running", 99)


def slugify(text: str) -> str:
    from django.utils.text import slugify as django_slugify

    return django_slugify(text)


class RelevanceCatalog:
    def __init__(self) -> None:
        self.categories: dict[str, Category] = {}
        for root, subs in TREE.items():
            r = Category.objects.create(name=root, slug=slugify(root))
            self.categories[root] = r
            for sub, leaves in subs.items():
                s = Category.objects.create(name=sub, slug=slugify(sub), parent=r)
                self.categories[sub] = s
                for leaf in leaves:
                    self.categories[leaf] = Category.objects.create(
                        name=leaf, slug=slugify(leaf), parent=s
                    )
        defs = {}
        defs["color"] = AttributeDefinition.objects.create(
            code="color", name="Color", type=AttributeType.TEXT, is_variant_attribute=True
        )
        defs["size"] = AttributeDefinition.objects.create(
            code="size",
            name="Size",
            type=AttributeType.TEXT,
            is_variant_attribute=True,
            category=self.categories["Apparel"],
        )
        defs["material"] = AttributeDefinition.objects.create(
            code="material",
            name="Material",
            type=AttributeType.TEXT,
            category=self.categories["Apparel"],
        )
        defs["storage"] = AttributeDefinition.objects.create(
            code="storage",
            name="Storage",
            type=AttributeType.NUMBER,
            unit="GB",
            is_variant_attribute=True,
            category=self.categories["Electronics"],
        )
        defs["wireless"] = AttributeDefinition.objects.create(
            code="wireless",
            name="Wireless",
            type=AttributeType.BOOLEAN,
            category=self.categories["Audio"],
        )
        self.definitions = defs
        self.brands: dict[str, Brand] = {}
        self.products: dict[str, Product] = {}
        self.variants: dict[str, Variant] = {}
        for index, (name, brand, leaf, price, attrs, variants, description) in enumerate(PRODUCTS):
            product = Product.objects.create(
                name=name,
                slug=slugify(f"{brand} {name}"),
                description=description,
                brand=self.brand(brand),
                category=self.categories[leaf],
                base_price=Decimal(price),
                is_featured=index % 7 == 0,
            )
            self.products[name] = product
            for code, value in attrs.items():
                set_value(product, defs[code], value)
            for position, (sku, delta, stock, vattrs) in enumerate(variants):
                variant = Variant.objects.create(
                    product=product,
                    sku=sku,
                    name=" / ".join(str(v) for v in vattrs.values()),
                    price=Decimal(price + delta) if delta else None,
                    stock_quantity=stock,
                    is_default=position == 0,
                    position=position,
                )
                self.variants[sku] = variant
                for code, value in vattrs.items():
                    set_value(variant, defs[code], value)
        name, brand, leaf, price = INACTIVE
        hidden = Product.objects.create(
            name=name,
            slug="hidden-runner",
            brand=self.brand(brand),
            category=self.categories[leaf],
            base_price=Decimal(price),
            is_active=False,
        )
        Variant.objects.create(
            product=hidden, sku="ADI-HIDDEN-1", stock_quantity=5, is_default=True
        )
        self.products[name] = hidden
        product_prices_refresh()
        for terms in SYNONYMS:
            Synonym.objects.create(terms=terms)

    def brand(self, name: str) -> Brand:
        if name not in self.brands:
            self.brands[name] = Brand.objects.create(name=name, slug=slugify(name))
        return self.brands[name]
