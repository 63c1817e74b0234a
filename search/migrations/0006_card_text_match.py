"""Word queries on the product cards (search.pg.query.product_words): SearchEntry.vtsv (a
variant's own words) and SearchVariantWord (their lexemes) tell whether a query's words could
match one variant and not another; SearchCard.tsv (its lowest variant's tsv, GIN-indexed) matches
and ranks the product when they cannot. All filled for what is indexed already."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations, models

# The variant's words as search.pg.indexer writes them: lower-cased SKU, name, option values
# (a true boolean reads as its name, a false one adds nothing).
FILL = """
UPDATE search_pg_entry SET vtsv = to_tsvector('emporium_search',
    lower(sku) || ' ' || variant_name || ' ' || coalesce((
        SELECT string_agg(CASE WHEN a.value = 'true' THEN replace(a.key, '_', ' ')
                               WHEN a.value = 'false' THEN ''
                               ELSE replace(a.key, '_', ' ') || ' ' || a.value END, ' ')
        FROM jsonb_each_text(variant_attrs) a), ''));
INSERT INTO search_pg_variant_word (lexeme)
SELECT DISTINCT unnest(tsvector_to_array(vtsv)) FROM search_pg_entry
ON CONFLICT (lexeme) DO NOTHING;
UPDATE search_pg_card c SET tsv = (
    SELECT e.tsv FROM search_pg_entry e WHERE e.product_id = c.product_id
    ORDER BY e.variant_id LIMIT 1);
CREATE INDEX search_pg_card_tsv ON search_pg_card USING gin (tsv);
"""
UNFILL = """
DROP INDEX IF EXISTS search_pg_card_tsv;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0005_search_card"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchVariantWord",
            fields=[("lexeme", models.TextField(primary_key=True, serialize=False))],
            options={"db_table": "search_pg_variant_word"},
        ),
        migrations.AddField(
            model_name="searchentry",
            name="vtsv",
            field=django.contrib.postgres.search.SearchVectorField(null=True),
        ),
        migrations.AddField(
            model_name="searchcard",
            name="tsv",
            field=django.contrib.postgres.search.SearchVectorField(null=True),
        ),
        migrations.AddIndex(
            model_name="searchcard",
            index=models.Index(fields=["brand_id"], name="search_pg_card_brand"),
        ),
        migrations.AddIndex(
            model_name="searchcard",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["category_ids"], name="search_pg_card_categories"
            ),
        ),
        migrations.RunSQL(FILL, UNFILL),
    ]
