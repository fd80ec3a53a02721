"""The search index tables (knowledge/search.py), one shape per database: FTS5 virtual tables on
SQLite; a tsvector per row with a GIN index on PostgreSQL. Not models: Django cannot describe
either, and only search.py reads or writes them."""

from django.db import migrations

SQLITE_UP = [
    # unicode61: the stored text is already segmented and space-separated; it only splits on spaces
    "CREATE VIRTUAL TABLE knowledge_article_fts USING fts5(title, symptoms, summary, body, sounds, "
    "tokenize = 'unicode61 remove_diacritics 0')",
    "CREATE VIRTUAL TABLE knowledge_ticket_fts USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0', "
    "detail = 'none')",
]
SQLITE_DOWN = ["DROP TABLE IF EXISTS knowledge_article_fts", "DROP TABLE IF EXISTS knowledge_ticket_fts"]
POSTGRES_UP = [
    "CREATE TABLE knowledge_article_search (article_id bigint PRIMARY KEY REFERENCES knowledge_article (id) "
    "ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED, document tsvector NOT NULL)",
    "CREATE INDEX knowledge_article_search_gin ON knowledge_article_search USING gin (document)",
    "CREATE TABLE knowledge_ticket_search (ticket_id bigint PRIMARY KEY REFERENCES tickets_ticket (id) "
    "ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED, document tsvector NOT NULL)",
    "CREATE INDEX knowledge_ticket_search_gin ON knowledge_ticket_search USING gin (document)",
]
POSTGRES_DOWN = ["DROP TABLE IF EXISTS knowledge_article_search", "DROP TABLE IF EXISTS knowledge_ticket_search"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0001_articles_response_codes_deflections"),
    ]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
        ),
    ]
