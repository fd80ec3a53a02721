"""PostgreSQL: the search tables lose their foreign keys. Django does not know these tables, so its
TRUNCATE of tickets or articles (test flushes, `flush`) failed on them; a row of a deleted ticket or
article is harmless instead — search results are always read back through the models (an id that
no longer exists is simply not found) and `search_reindex` drops such rows."""

from django.db import migrations

DROP = [
    "ALTER TABLE knowledge_article_search DROP CONSTRAINT IF EXISTS knowledge_article_search_article_id_fkey",
    "ALTER TABLE knowledge_ticket_search DROP CONSTRAINT IF EXISTS knowledge_ticket_search_ticket_id_fkey",
]
ADD = [
    "ALTER TABLE knowledge_article_search ADD CONSTRAINT knowledge_article_search_article_id_fkey FOREIGN KEY "
    "(article_id) REFERENCES knowledge_article (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED NOT VALID",
    "ALTER TABLE knowledge_ticket_search ADD CONSTRAINT knowledge_ticket_search_ticket_id_fkey FOREIGN KEY "
    "(ticket_id) REFERENCES tickets_ticket (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED NOT VALID",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0004_article_search_head")]

    operations = [migrations.RunPython(_run(DROP), _run(ADD))]
