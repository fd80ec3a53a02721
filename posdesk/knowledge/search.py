"""Chinese full-text search for articles and tickets, behind one interface with two backends:
SQLite FTS5 (the embedded default) and PostgreSQL full-text (a tsvector per row, GIN index). The
tables are made by migration 0002 for the database in use; nothing else touches them.

Both backends index and query the same terms (`documents.py`: jieba search-mode words, with the
trade's dictionary). Articles: any query term may match (short colloquial queries rarely repeat an
article's words exactly), ranked with the title above symptoms and codes above summary above body,
and the pinyin-pair fallback field lowest. Tickets: every term must match, newest first.

On PostgreSQL the tsvector and tsquery are written as literals of the already-segmented terms: the
same as the 'simple' configuration (no stemming, no stop words) but independent of the server's
locale and parser, which does not segment Chinese."""

# ruff: noqa: S608 - only table names (constants of this module) are formatted in; every value is a parameter
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction

from posdesk.knowledge import documents
from posdesk.knowledge.documents import ArticleDocument, ArticleText

ARTICLE_FTS = "knowledge_article_fts"
TICKET_FTS = "knowledge_ticket_fts"
ARTICLE_PG = "knowledge_article_search"
TICKET_PG = "knowledge_ticket_search"

# field weights: SQLite bm25 per column (title, symptoms, summary, body, sounds)
BM25_WEIGHTS = (10.0, 6.0, 3.0, 1.0, 1.5)
# PostgreSQL ts_rank weights for {D, C, B, A}: A title, B symptoms + codes + summary, C sounds, D body
PG_WEIGHTS = "{0.1, 0.2, 0.5, 1.0}"
CANDIDATES = 50  # ranked matches read before the visibility filter (audience, status, category, model)
TICKET_BATCH = 2_000


@dataclass(frozen=True)
class ArticleHit:
    article_id: int
    score: float  # higher is better, comparable within one query and backend


def _on_postgres() -> bool:
    return connection.vendor == "postgresql"


# --- literals -----------------------------------------------------------------------------

def _fts5_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _ts_lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def _tsvector_literal(fields: Sequence[tuple[str, str]]) -> str:
    """`fields`: (space-separated terms, weight letter). Positions run on across fields."""
    parts: list[str] = []
    position = 1
    for text, weight in fields:
        for term in text.split():
            parts.append(f"{_ts_lexeme(term)}:{min(position, 16383)}{weight}")
            position += 1
    return " ".join(parts)


# --- articles -------------------------------------------------------------------------------

def article_document_for(article) -> ArticleDocument:  # noqa: ANN001 - a knowledge.models.Article
    return documents.article_document(
        ArticleText(
            title=article.title, symptoms=article.symptoms, response_codes=article.response_codes,
            summary=article.summary, steps=article.steps, body=article.body,
        )
    )


def article_index(articles: Sequence) -> None:  # noqa: ANN001 - Article instances
    """(Re)index these articles; call inside the transaction that wrote them."""
    rows = [(article.pk, article_document_for(article)) for article in articles]
    article_index_documents(rows)


def article_index_documents(rows: Sequence[tuple[int, ArticleDocument]]) -> None:
    if not rows:
        return
    ids = [article_id for article_id, _ in rows]
    with transaction.atomic(), connection.cursor() as cursor:
        if _on_postgres():
            cursor.execute(f"DELETE FROM {ARTICLE_PG} WHERE article_id = ANY(%s)", [ids])
            cursor.executemany(  # `head` is generated from `document` (migration 0004)
                f"INSERT INTO {ARTICLE_PG} (article_id, document) VALUES (%s, %s::tsvector)",
                [
                    (article_id, _tsvector_literal([
                        (doc.title, "A"), (doc.symptoms, "B"), (doc.summary, "B"), (doc.sounds, "C"),
                        (doc.body, "D"),
                    ]))
                    for article_id, doc in rows
                ],
            )
        else:
            cursor.executemany(f"DELETE FROM {ARTICLE_FTS} WHERE rowid = %s", [(i,) for i in ids])
            cursor.executemany(
                f"INSERT INTO {ARTICLE_FTS} (rowid, title, symptoms, summary, body, sounds) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                [(i, d.title, d.symptoms, d.summary, d.body, d.sounds) for i, d in rows],
            )


def article_unindex(article_ids: Sequence[int]) -> None:
    with connection.cursor() as cursor:
        if _on_postgres():
            cursor.execute(f"DELETE FROM {ARTICLE_PG} WHERE article_id = ANY(%s)", [list(article_ids)])
        else:
            cursor.executemany(f"DELETE FROM {ARTICLE_FTS} WHERE rowid = %s", [(i,) for i in article_ids])


def article_hits(query: str, *, limit: int = CANDIDATES) -> list[ArticleHit]:
    """Articles whose text matches `query`, best first (no visibility filter: see selectors)."""
    words = documents.query_terms(query)
    sounds = documents.query_sound_pairs(query)
    if not words and not sounds:
        return []
    with connection.cursor() as cursor:
        if _on_postgres():
            # the head (title, symptoms, codes, summary, pinyin pairs) first: small vectors rank fast;
            # the whole document only when the head alone finds too few (words only in the body)
            by_words = " | ".join(_ts_lexeme(term) for term in words)
            with_sounds = " | ".join(_ts_lexeme(term) for term in [*words, *sounds])
            # words before pinyin pairs: common syllable pairs match far more rows than the words do
            stages = [("head", by_words), ("head", with_sounds), ("document", with_sounds)] if words else [
                ("head", with_sounds), ("document", with_sounds)]
            hits: list[ArticleHit] = []
            for column, tsquery in stages:
                cursor.execute(
                    f"SELECT article_id, ts_rank(%s, {column}, q) AS score FROM {ARTICLE_PG}, "
                    f"CAST(%s AS tsquery) AS q WHERE {column} @@ q ORDER BY score DESC, article_id LIMIT %s",
                    [PG_WEIGHTS, tsquery, limit],
                )
                hits = [ArticleHit(article_id=row[0], score=float(row[1])) for row in cursor.fetchall()]
                if len(hits) >= limit:
                    break
            return hits
        match = " OR ".join(_fts5_phrase(term) for term in [*words, *sounds])
        weights = ", ".join(str(w) for w in BM25_WEIGHTS)
        cursor.execute(
            f"SELECT rowid, bm25({ARTICLE_FTS}, {weights}) AS rank FROM {ARTICLE_FTS} "
            f"WHERE {ARTICLE_FTS} MATCH %s ORDER BY rank LIMIT %s",
            [match, limit],
        )
        # bm25() is negative, more negative is better: flip it so higher is better on both backends
        return [ArticleHit(article_id=row[0], score=-float(row[1])) for row in cursor.fetchall()]


# --- tickets --------------------------------------------------------------------------------

def ticket_search_index(ticket_ids: Sequence[int]) -> None:
    """(Re)index these tickets' subject and description for full-text search. Called after commit
    by triage's intake pipeline for new tickets, and in batches by `posdesk search_reindex`."""
    from posdesk.tickets.models import Ticket

    ids = sorted({int(i) for i in ticket_ids})
    for start in range(0, len(ids), TICKET_BATCH):
        batch = ids[start:start + TICKET_BATCH]
        rows = [
            (ticket_id, documents.ticket_document(subject, description))
            for ticket_id, subject, description in Ticket.objects.filter(pk__in=batch).values_list(
                "pk", "subject", "description"
            )
        ]
        _ticket_index_rows(batch, rows)


def _ticket_index_rows(ids: Sequence[int], rows: Sequence[tuple[int, str]], *, fresh: bool = False) -> None:
    """`fresh`: the index holds none of these tickets (a rebuild after `ticket_index_clear`)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if _on_postgres():
            if not fresh:
                cursor.execute(f"DELETE FROM {TICKET_PG} WHERE ticket_id = ANY(%s)", [list(ids)])
            cursor.executemany(
                f"INSERT INTO {TICKET_PG} (ticket_id, document) VALUES (%s, %s::tsvector)",
                [(ticket_id, _tsvector_literal([(text, "D")])) for ticket_id, text in rows],
            )
        else:
            if not fresh:
                cursor.executemany(f"DELETE FROM {TICKET_FTS} WHERE rowid = %s", [(i,) for i in ids])
            cursor.executemany(f"INSERT INTO {TICKET_FTS} (rowid, terms) VALUES (%s, %s)", list(rows))


def ticket_index_rebuild(*, batch: int = TICKET_BATCH, progress=None) -> int:  # noqa: ANN001
    """Index every ticket from scratch (an existing database, a restored backup): the index is
    emptied, then filled in committed batches in id order. Returns the number indexed."""
    from posdesk.tickets.models import Ticket

    ticket_index_clear()
    done, after = 0, 0
    while True:
        chunk = list(
            Ticket.objects.filter(pk__gt=after).order_by("pk").values_list("pk", "subject", "description")[:batch]
        )
        if not chunk:
            break
        rows = [(ticket_id, documents.ticket_document(subject, description)) for ticket_id, subject, description in chunk]
        _ticket_index_rows([row[0] for row in rows], rows, fresh=True)
        done += len(rows)
        after = chunk[-1][0]
        if progress:
            progress(done)
    if _on_postgres():
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {TICKET_PG}")
    return done


def analyse_articles() -> None:
    """Planner statistics after a bulk change (PostgreSQL's autovacuum comes later; without them it
    may read the visibility index instead of 50 primary keys)."""
    if _on_postgres():
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE knowledge_article, {ARTICLE_PG}")


def article_index_rebuild() -> int:
    from posdesk.knowledge.models import Article

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {ARTICLE_PG if _on_postgres() else ARTICLE_FTS}")
        done, after = 0, 0
        while True:
            chunk = list(Article.objects.filter(pk__gt=after).order_by("pk")[:500])
            if not chunk:
                break
            article_index(chunk)
            done += len(chunk)
            after = chunk[-1].pk
    analyse_articles()
    return done


def ticket_index_clear() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TICKET_PG if _on_postgres() else TICKET_FTS}")


NEWEST_SCAN = 20_000  # rows; a word in at least 1 in 100 tickets fills a page from these
TICKET_WINDOW = 50_000  # ids; the newest window first, widened eightfold until `limit` matches are found


def _ticket_ids_matching_postgres(tsquery: str, limit: int) -> list[int]:
    """Newest first without sorting every match: a common word (打印机: a tenth of all tickets) would
    make PostgreSQL fetch and sort 100,000 rows, and a backward primary-key scan would read every
    row for a word nobody used. So: the newest NEWEST_SCAN rows are read first (enough for a common
    word); otherwise the GIN index is asked window by window over the newest ids (a bitmap AND of
    the GIN and primary-key ranges), widening until `limit` rows are found."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT max(ticket_id) FROM {TICKET_PG}")
        newest = cursor.fetchone()[0]
        if newest is None:
            return []
        # a common word: among the newest rows already (read at most NEWEST_SCAN of them, newest first)
        cursor.execute(
            f"SELECT ticket_id FROM (SELECT ticket_id, document FROM {TICKET_PG} ORDER BY ticket_id DESC "
            "LIMIT %s) AS newest WHERE document @@ CAST(%s AS tsquery) ORDER BY ticket_id DESC LIMIT %s",
            [NEWEST_SCAN, tsquery, limit],
        )
        rows = [row[0] for row in cursor.fetchall()]
        if len(rows) >= limit:
            return rows
        # the bitmap path (GIN ∧ id range) is right for every query below; a plain index scan never is
        cursor.execute("SET LOCAL enable_indexscan = off")
        window = TICKET_WINDOW
        while True:
            floor = newest - window
            cursor.execute(
                f"SELECT ticket_id FROM {TICKET_PG} WHERE document @@ CAST(%s AS tsquery) AND ticket_id > %s "
                "ORDER BY ticket_id DESC LIMIT %s",
                [tsquery, floor, limit],
            )
            rows = [row[0] for row in cursor.fetchall()]
            if len(rows) >= limit or floor <= 0:
                return rows
            window *= 8


def ticket_ids_matching(query: str, *, limit: int = 200) -> list[int]:
    """Ids of the newest tickets whose subject or description holds every word of `query`."""
    words = documents.query_terms(query) or documents.terms(query)
    if not words:
        return []
    if _on_postgres():
        return _ticket_ids_matching_postgres(" & ".join(_ts_lexeme(term) for term in words), limit)
    with connection.cursor() as cursor:
        match = " AND ".join(_fts5_phrase(term) for term in words)
        cursor.execute(
            f"SELECT rowid FROM {TICKET_FTS} WHERE {TICKET_FTS} MATCH %s ORDER BY rowid DESC LIMIT %s",
            [match, limit],
        )
        return [row[0] for row in cursor.fetchall()]
