"""The PostgreSQL backend's own storage, kept by its indexer (search.pg.indexer).

- SearchEntry: one row per active variant of a searchable product, with the product's fields
  copied in, so every filter (category subtree, brand, price, stock, attributes) is a condition
  on one row and the rows that match are exactly the variants a hit lists. Its weighted tsvector
  holds the product's text (A name, B brand, C category path, D attributes and description) and
  the variant's own words (SKU, option values), so "blue running shoes size 42" keeps only the
  blue size-42 variants; vtsv holds the variant's own words alone.
- SearchProduct: one row per indexed product: what a hit shows (payload), the plain words the
  vocabulary is built from, and a checksum of its document for the consistency check.
- SearchVariantWord: the lexemes of the variants' own words (SKU, name, option values), which
  decide whether a query's words can run on the product cards.
- SearchWord: the vocabulary (distinct words of the indexed text with document frequencies); its
  trigram index makes typo correction and "did you mean" one cheap lookup.
- SearchSuggestion: what autocomplete offers (products, categories, brands) with a weight.

The indexes that Django cannot declare (GIN on the tsvector, trigram operator classes) and the
`emporium_search` text search configuration (english stemming over unaccent) live in the
migration 0002.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models


class SearchEntry(models.Model):
    variant_id = models.BigIntegerField(primary_key=True)
    product_id = models.BigIntegerField()
    sku = models.CharField(max_length=64)
    variant_name = models.CharField(max_length=200, blank=True)
    brand_id = models.BigIntegerField(null=True)
    category_ids = ArrayField(models.BigIntegerField())  # root .. the product's category
    price = models.DecimalField(max_digits=12, decimal_places=2)
    compare_at_price = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    in_stock = models.BooleanField()
    # "code=value" for the product's and this variant's attribute values (value_key form).
    attrs = ArrayField(models.TextField())
    # The same split by level: facets count product-level values once per product.
    pattrs = ArrayField(models.TextField(), default=list)
    vattrs = ArrayField(models.TextField(), default=list)
    # Every distinct variant value of the product, and how many active variants it has: when all
    # of a product's variants matched, its variant values are counted once from here.
    product_vattrs = ArrayField(models.TextField(), default=list)
    variant_count = models.IntegerField(default=1)
    in_stock_variant_count = models.IntegerField(default=0)
    variant_attrs = models.JSONField(default=dict)
    is_featured = models.BooleanField()
    rating_avg = models.DecimalField(max_digits=3, decimal_places=2)
    rating_count = models.IntegerField()
    sales_count = models.IntegerField()
    created_at = models.DateTimeField()
    # Multiplies the text rank: in stock, featured, a little for rating and sales.
    boost = models.FloatField()
    tsv = SearchVectorField()
    # The variant's own words alone (SKU, name, option values); SearchVariantWord gathers them.
    vtsv = SearchVectorField(null=True)

    class Meta:
        db_table = "search_pg_entry"
        indexes = [
            models.Index(fields=["product_id"], name="search_pg_entry_product"),
            models.Index(fields=["sku"], name="search_pg_entry_sku"),
        ]

    def __str__(self) -> str:
        return self.sku


class SearchCard(models.Model):
    """One row per indexed product, aggregated from its SearchEntry rows by the indexer: what
    browsing without words needs (search.pg.query's product-level path), for all the product's
    variants and for its in-stock ones, so a category page counts 24k rows, not 100k; and word
    queries that no variant's own words match (search.pg.query.product_words)."""

    product_id = models.BigIntegerField(primary_key=True)
    brand_id = models.BigIntegerField(null=True)
    category_ids = ArrayField(models.BigIntegerField())
    pattrs = ArrayField(models.TextField(), default=list)
    vattrs = ArrayField(models.TextField(), default=list)  # every variant's values, distinct
    stock_vattrs = ArrayField(models.TextField(), default=list)  # in-stock variants' values
    variant_ids = ArrayField(models.BigIntegerField())
    stock_variant_ids = ArrayField(models.BigIntegerField(), default=list)
    price_min = models.DecimalField(max_digits=12, decimal_places=2)
    price_max = models.DecimalField(max_digits=12, decimal_places=2)
    stock_price_min = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    stock_price_max = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    price_mask = models.IntegerField()  # bit b: a variant in price bucket b (query.PRICE_EDGES)
    stock_price_mask = models.IntegerField(null=True)
    boost = models.FloatField()
    stock_boost = models.FloatField(null=True)
    in_stock = models.BooleanField()
    is_featured = models.BooleanField()
    rating_avg = models.DecimalField(max_digits=3, decimal_places=2)
    rating_count = models.IntegerField()
    sales_count = models.IntegerField()
    created_at = models.DateTimeField()
    # The tsv of the product's lowest variant: for a query none of whose words is a variant's
    # own word, it matches and ranks exactly as every one of the product's entries does.
    tsv = SearchVectorField(null=True)

    class Meta:
        db_table = "search_pg_card"
        # Whether a brand or category still holds an indexed product, after each index write.
        indexes = [
            models.Index(fields=["brand_id"], name="search_pg_card_brand"),
            GinIndex(fields=["category_ids"], name="search_pg_card_categories"),
        ]

    def __str__(self) -> str:
        return str(self.product_id)


class SearchVariantWord(models.Model):
    """Every lexeme of any variant's own words (SearchEntry.vtsv). When none of a query's words
    is here, every variant of a product matches alike and the search runs on the product cards
    (search.pg.query.product_words): a primary-key probe. Words join as entries are written and
    leave when the vocabulary is rebuilt; one that lingers only sends a query the slower way."""

    lexeme = models.TextField(primary_key=True)

    class Meta:
        db_table = "search_pg_variant_word"

    def __str__(self) -> str:
        return self.lexeme


class SearchProduct(models.Model):
    product_id = models.BigIntegerField(primary_key=True)
    payload = models.JSONField()
    words = models.TextField()  # unaccented, lower-cased words of name, brand, categories, attrs
    checksum = models.CharField(max_length=32)
    indexed_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "search_pg_product"

    def __str__(self) -> str:
        return str(self.product_id)


class SearchWord(models.Model):
    word = models.TextField(primary_key=True)
    lexeme = models.TextField()  # the word's stem under the search configuration
    ndoc = models.IntegerField(default=1)  # products whose words hold it

    class Meta:
        db_table = "search_pg_word"
        indexes = [models.Index(fields=["lexeme"], name="search_pg_word_lexeme")]

    def __str__(self) -> str:
        return self.word


class SearchSuggestion(models.Model):
    class Kind(models.TextChoices):
        PRODUCT = "product"
        CATEGORY = "category"
        BRAND = "brand"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    ref_id = models.BigIntegerField()
    text = models.CharField(max_length=200)
    slug = models.CharField(max_length=220)
    norm = models.TextField()  # unaccented, lower-cased text the prefix and trigram indexes hold
    weight = models.FloatField(default=0)

    class Meta:
        db_table = "search_pg_suggestion"
        constraints = [
            models.UniqueConstraint(fields=["kind", "ref_id"], name="search_pg_suggestion_ref")
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.text}"
