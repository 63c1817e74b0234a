"""The Elasticsearch index: analysis, mapping and the names of index, alias and synonyms set.

One document per variant SKU (search.es.documents builds them). Text is lower-cased and
accent-folded both ways; the search-time analyzer adds the merchants' synonyms (synonym_graph over
a synonyms set, so an edit reloads the analyzers without a reindex) and a light English stemmer.
Other fields serve the other needs: `autocomplete` subfields (edge n-grams) for typo-tolerant
prefixes, `search_text` (unstemmed copy of the names) for fuzzy matching, `spell` (shingles of
names, brands, categories) for the "did you mean" phrase suggester, keywords for filters/facets.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from elasticsearch.dsl import (
    Boolean,
    Date,
    Document,
    Flattened,
    Float,
    Index,
    InnerDoc,
    Integer,
    Keyword,
    Long,
    Object,
    ScaledFloat,
    Text,
    analyzer,
    normalizer,
    token_filter,
)

ASCII = token_filter("emporium_ascii", "asciifolding")
STEMMER = token_filter("emporium_stemmer", "stemmer", language="light_english")
EDGE_NGRAM = token_filter("emporium_edge_ngram", "edge_ngram", min_gram=1, max_gram=20)
SHINGLE = token_filter("emporium_shingle", "shingle", min_shingle_size=2, max_shingle_size=3)


def synonym_filter():
    return token_filter(
        "emporium_synonyms",
        "synonym_graph",
        synonyms_set=settings.ELASTICSEARCH_SYNONYMS_SET,
        updateable=True,  # search-time only, reloaded when the set changes
        lenient=True,
    )


# Indexing: words, lower-cased, accents folded, lightly stemmed.
TEXT = analyzer("emporium_text", tokenizer="standard", filter=["lowercase", ASCII, STEMMER])
# Plain words, no stemming: the fuzzy clause and autocomplete search with it.
PLAIN = analyzer("emporium_plain", tokenizer="standard", filter=["lowercase", ASCII])
AUTOCOMPLETE = analyzer(
    "emporium_autocomplete", tokenizer="standard", filter=["lowercase", ASCII, EDGE_NGRAM]
)
SHINGLES = analyzer("emporium_shingles", tokenizer="standard", filter=["lowercase", ASCII, SHINGLE])
LOWER = normalizer("emporium_lower", filter=["lowercase", "asciifolding"])


def search_analyzer():
    return analyzer(
        "emporium_search",
        tokenizer="standard",
        filter=["lowercase", ASCII, synonym_filter(), STEMMER],
    )


def _text(
    *,
    autocomplete: bool = False,
    keyword: bool = False,
    plain: bool = False,
    copy: bool = True,
    spell: bool = False,
) -> Text:
    """A text field. `copy` also sends it to search_text, the unstemmed field the fuzzy clause
    reads (so a misspelled query whose words sit in different fields still matches); `spell` to
    the shingled field the "did you mean" suggester reads."""
    fields = {}
    if plain:
        fields["plain"] = Text(analyzer=PLAIN)
    if autocomplete:
        fields["autocomplete"] = Text(analyzer=AUTOCOMPLETE, search_analyzer=PLAIN)
    if keyword:
        fields["keyword"] = Keyword(ignore_above=256)
    extra = {"fields": fields} if fields else {}
    targets = (["search_text"] if copy else []) + (["spell"] if spell else [])
    if targets:
        extra["copy_to"] = targets if len(targets) > 1 else targets[0]
    return Text(analyzer=TEXT, search_analyzer=search_analyzer(), **extra)


def build_document_class() -> type[Document]:
    """The mapping as a dsl Document (built on demand: the synonyms set name is a setting)."""

    class Named(InnerDoc):
        id = Long()
        name = _text(autocomplete=True, keyword=True, spell=True)
        slug = Keyword()

    class VariantDoc(Document):
        product_id = Long()  # collapse key
        variant_id = Long()
        sku = Keyword(normalizer=LOWER)
        name = _text(autocomplete=True, plain=True, spell=True)
        variant_name = _text()
        slug = Keyword()
        description = _text(copy=False)
        brand = Object(Named)
        category = Object(Named)
        category_path = Keyword()  # slugs root -> leaf: the subtree filter is one term
        category_path_names = _text(spell=True)
        price = ScaledFloat(scaling_factor=100)
        compare_at_price = ScaledFloat(scaling_factor=100, index=False)
        in_stock = Boolean()
        is_featured = Boolean()
        # code -> value for the answer; filters and facets use the "code=value" pairs below.
        attributes = Flattened()
        attribute_pairs = Keyword()
        attributes_text = _text()
        search_text = Text(analyzer=PLAIN)  # unstemmed: fuzzy matching compares spellings
        spell = Text(analyzer=SHINGLES)
        rating = Float()
        rating_count = Integer()
        sales_count = Integer()
        created_at = Date()
        updated_at = Date()
        image_url = Keyword(index=False, doc_values=False)

    return VariantDoc


# Bump when the mapping or analysis changes: setup() then warns that the live index needs a
# `search_reindex` (which builds an index with the new mapping and swaps the alias).
MAPPING_VERSION = 1


def alias_name() -> str:
    return settings.ELASTICSEARCH_INDEX_ALIAS


def new_index_name(now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S%f")
    return f"{alias_name()}-{stamp}"


def index_body(*, building: bool = False) -> dict:
    """Settings and mappings of a new index. `building`: no replicas and no refresh while a
    reindex fills it (restored by live_settings() before the alias moves)."""
    index = Index("unused")
    index.document(build_document_class())
    live = live_settings()
    index.settings(
        number_of_shards=settings.ELASTICSEARCH_SHARDS,
        max_inner_result_window=100,
        **({"number_of_replicas": 0, "refresh_interval": "-1"} if building else live),
    )
    body = index.to_dict()
    body["mappings"]["dynamic"] = "strict"
    body["mappings"]["_meta"] = {"mapping_version": MAPPING_VERSION}
    return body


def live_settings() -> dict:
    return {"number_of_replicas": settings.ELASTICSEARCH_REPLICAS, "refresh_interval": "1s"}


def synonym_rules(lines: list[str]) -> list[dict]:
    """Synonyms-set rules from Synonym.solr_lines(); ids keep updates readable in ES."""
    return [{"id": f"rule-{n}", "synonyms": line} for n, line in enumerate(lines, start=1)]
