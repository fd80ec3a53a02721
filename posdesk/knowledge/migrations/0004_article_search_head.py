"""PostgreSQL: a small `head` vector per article (title, symptoms, codes, summary, pinyin pairs) with
its own GIN index. Ranking reads every matching row's vector; the head is a few dozen lexemes where
the whole document is hundreds, so a common word over 100,000 articles ranks in a few milliseconds
(bench/search.py). A generated column: the document's lexemes of weights A–C, so every write of the
document keeps it right. SQLite: nothing (FTS5 ranks per column already)."""

from django.db import migrations


def up(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE knowledge_article_search ADD COLUMN head tsvector "
        "GENERATED ALWAYS AS (ts_filter(document, '{a,b,c}')) STORED"
    )
    schema_editor.execute("CREATE INDEX knowledge_article_search_head_gin ON knowledge_article_search USING gin (head)")


def down(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS knowledge_article_search_head_gin")
    schema_editor.execute("ALTER TABLE knowledge_article_search DROP COLUMN IF EXISTS head")


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0003_load_response_codes")]

    operations = [migrations.RunPython(up, down)]
