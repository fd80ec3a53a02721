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

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet

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
CANDIDATES = 50  # articles of the caller's scope ranked by text before the boosts re-rank them
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
            title=article.title,
            symptoms=article.symptoms,
            response_codes=article.response_codes,
            summary=article.summary,
            steps=article.steps,
            body=article.body,
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
                    (
                        article_id,
                        _tsvector_literal(
                            [
                                (doc.title, "A"),
                                (doc.symptoms, "B"),
                                (doc.summary, "B"),
                                (doc.sounds, "C"),
                                (doc.body, "D"),
                            ]
                        ),
                    )
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
    _article_df_changed()


def article_query_terms(query: str) -> tuple[list[str], list[str]]:
    """The query's words and pinyin pairs (segmented once per distinct query: jieba and pypinyin)."""
    words, sounds = _segmented_query(query)
    return list(words), list(sounds)


@functools.lru_cache(maxsize=2048)
def _segmented_query(query: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(documents.query_terms(query)), tuple(documents.query_sound_pairs(query))


# A term in more than DF_CUT of the articles (and in more than DF_FLOOR of them) does not pick
# candidates: FTS5's bm25 gives a term in half the articles no weight at all and one in a fifth
# little, yet every article holding it must be ranked — 交易 is in 58 % of the 100,000 benchmark
# articles, and ranking them cost more than the 50 ms budget. Below DF_FLOOR articles ranking is
# cheap whatever the share, so small knowledge bases keep every term. The counts are cached (they
# move slowly); writes to the index start a new generation.
DF_CUT = 0.2
DF_FLOOR = 1_000
DF_TTL = 600  # seconds
_DF_GENERATION = "knowledge:article-df:generation"


def _document_frequencies(terms: Sequence[str]) -> tuple[int, dict[str, int]]:
    """(articles indexed, {term: articles holding it}), from the cache where it has them. Below
    DF_FLOOR articles no term is counted (none could be cut)."""
    generation = cache.get(_DF_GENERATION, 0)
    if _on_postgres():
        key = f"knowledge:article-df:{generation}:postgres"
        counted = cache.get(key)
        if counted is None:
            counted = _postgres_shares()
            cache.set(key, counted, DF_TTL)
        total, shares = counted
        return total, {} if total <= DF_FLOOR else {
            term: round(shares.get(term, 0.0) * total) for term in terms
        }
    total_key = f"knowledge:article-df:{generation}:"
    total = cache.get(total_key)
    if total is None:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {ARTICLE_FTS}_docsize")
            total = int(cursor.fetchone()[0])
        cache.set(total_key, total, DF_TTL)
    if total <= DF_FLOOR:
        return total, {}
    keys = {term: f"knowledge:article-df:{generation}:{term}" for term in terms}
    cached = cache.get_many(list(keys.values()))
    missing = [term for term, key in keys.items() if key not in cached]
    if missing:
        fresh = _sqlite_frequencies(missing)
        cache.set_many({keys[term]: n for term, n in fresh.items()}, DF_TTL)
        cached.update({keys[term]: n for term, n in fresh.items()})
    return total, {term: cached[key] for term, key in keys.items()}


def _sqlite_frequencies(terms: Sequence[str]) -> dict[str, int]:
    """Exact, from the index itself (fts5vocab: documents per term; a table of this connection)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{ARTICLE_FTS}_terms USING fts5vocab(main, {ARTICLE_FTS}, row)"
        )
        placeholders = ", ".join(["%s"] * len(terms))
        cursor.execute(
            f"SELECT term, doc FROM temp.{ARTICLE_FTS}_terms WHERE term IN ({placeholders})", list(terms)
        )
        return dict.fromkeys(terms, 0) | {row[0]: int(row[1]) for row in cursor.fetchall()}


def _postgres_shares() -> tuple[int, dict[str, float]]:
    """(articles indexed, {lexeme: share of articles}), the shares from the planner's statistics
    of the `head` vectors (what the ranking reads): ANALYZE keeps those of the most common lexemes
    (ten times the statistics target of them), so any lexeme in more than a few per cent of the
    articles is there; one absent counts as rare. Counting rows per word instead would cost more
    than the search (交易: 58,000 rows)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT count(*) FROM {ARTICLE_PG}), stats.most_common_elems::text::text[], "
            "stats.most_common_elem_freqs FROM (SELECT 1) AS one LEFT JOIN pg_stats AS stats "
            "ON stats.schemaname = current_schema() AND stats.tablename = %s AND stats.attname = 'head'",
            [ARTICLE_PG],
        )
        total, lexemes, shares = cursor.fetchone()
    return int(total), dict(zip(lexemes, shares, strict=False)) if lexemes else {}


def _selective(words: Sequence[str], sounds: Sequence[str]) -> tuple[int, list[str], list[str]]:
    """(articles indexed, the words, the pinyin pairs) that pick candidates: without those in more
    than DF_CUT of the articles (of each kind, the rarest one is kept when all are that common)."""
    total, frequency = _document_frequencies([*words, *sounds])
    if not frequency:
        return total, list(words), list(sounds)
    ceiling = max(DF_CUT * total, DF_FLOOR)

    def cut(terms: Sequence[str]) -> list[str]:
        kept = [term for term in terms if frequency[term] <= ceiling]
        return kept or ([min(terms, key=lambda term: frequency[term])] if terms else [])

    return total, cut(words), cut(sounds)


def _article_df_changed() -> None:
    try:
        cache.incr(_DF_GENERATION)
    except ValueError:
        cache.set(_DF_GENERATION, 1, None)


def _ranked_article_ids(
    words: list[str],
    sounds: list[str],
    fetch: int,
    *,
    indexed: int,
) -> list[tuple[int, float]]:
    """Up to `fetch` (article id, score) of the whole index, best first (score: higher is better).
    `indexed`: the articles in the index; with fewer than `fetch` no pass but the last can stop
    the search, so only the last one runs (the same result, in one query).

    A cheap first pass: the articles holding every word, when there are `fetch` of them — they
    are the best candidates, and ranking only them, not every article holding any word, is what
    keeps a query of common words fast (打印机没反应了: 2,700 articles instead of 20,000). Otherwise
    any word or pinyin pair may match (a typo, a word the articles do not use)."""
    with connection.cursor() as cursor:
        if _on_postgres():
            with_sounds = " | ".join(_ts_lexeme(term) for term in [*words, *sounds])
            # the head (title, symptoms, codes, summary, pinyin pairs) first: small vectors rank fast;
            # the whole document only when the head alone finds too few (words only in the body)
            stages = [("head", " & ".join(_ts_lexeme(term) for term in words))] if len(words) > 1 else []
            # words before pinyin pairs: common syllable pairs match far more rows than the words do
            if words:
                stages.append(("head", " | ".join(_ts_lexeme(term) for term in words)))
            stages += [("head", with_sounds), ("document", with_sounds)]
            if indexed < fetch:
                stages = stages[-1:]
            rows: list[tuple[int, float]] = []
            for column, tsquery in stages:
                cursor.execute(
                    f"SELECT article_id, ts_rank(%s, {column}, r) AS score FROM {ARTICLE_PG}, "
                    f"CAST(%s AS tsquery) AS q, CAST(%s AS tsquery) AS r WHERE {column} @@ q "
                    "ORDER BY score DESC, article_id LIMIT %s",
                    [PG_WEIGHTS, tsquery, with_sounds, fetch],
                )
                rows = [(row[0], float(row[1])) for row in cursor.fetchall()]
                if len(rows) >= fetch:
                    break
            return rows
        weights = ", ".join(str(w) for w in BM25_WEIGHTS)
        any_term = " OR ".join(_fts5_phrase(term) for term in [*words, *sounds])
        ranked: list[tuple[int, float]] = []
        first_pass = (
            [" AND ".join(_fts5_phrase(term) for term in words)]
            if len(words) > 1 and indexed >= fetch
            else []
        )
        for every_word in [*first_pass, ""]:
            # the same score either way (every term, pinyin pairs too); bm25 is computed only for the
            # rows the first pass let through
            cursor.execute(
                f"SELECT rowid, bm25({ARTICLE_FTS}, {weights}) AS rank FROM {ARTICLE_FTS} WHERE {ARTICLE_FTS} MATCH %s "
                + (
                    f"AND +rowid IN (SELECT rowid FROM {ARTICLE_FTS} WHERE {ARTICLE_FTS} MATCH %s) "
                    if every_word
                    else ""
                )
                + "ORDER BY rank LIMIT %s",
                [any_term, *([every_word] if every_word else []), fetch],
            )
            # bm25() is negative, more negative is better: flip it so higher is better on both backends
            ranked = [(row[0], -float(row[1])) for row in cursor.fetchall()]
            if len(ranked) >= fetch:
                break
        return ranked


def article_hits(query: str, *, within: QuerySet | None = None, limit: int = CANDIDATES) -> list[ArticleHit]:
    """Up to `limit` articles of `within` (a queryset of articles: the caller's scope and filters;
    None: every indexed article) whose text matches `query`, best first.

    The index ranks the whole corpus; `within` is applied to its best rows, and when too few of
    them are in it the ranked window widens (fourfold) until `limit` are found or the matches run
    out — a narrow scope (one category, merchants only) gets every match it holds, not just those
    among the corpus' first few."""
    words, sounds = article_query_terms(query)
    if not words and not sounds:
        return []
    total, words, sounds = _selective(words, sounds)
    fetch = limit if within is None else limit * 2
    while True:
        ranked = _ranked_article_ids(words, sounds, fetch, indexed=total)
        exhausted = len(ranked) < fetch
        if within is not None and ranked:
            # the scope as a per-row check: the plan is by primary key whatever the statistics say
            # (`pk IN (…) AND status = …` alone may read the whole visibility index instead)
            from posdesk.knowledge.models import Article

            ids = [article_id for article_id, _ in ranked]
            inside = set(
                Article.objects.filter(
                    Exists(within.order_by().filter(pk=OuterRef("pk"))),
                    pk__in=ids,
                ).values_list("pk", flat=True)
            )
            ranked = [(article_id, score) for article_id, score in ranked if article_id in inside]
        if len(ranked) >= limit or exhausted:
            return [ArticleHit(article_id=article_id, score=score) for article_id, score in ranked[:limit]]
        fetch *= 4


def article_head_terms(article_ids: Sequence[int]) -> dict[int, tuple[frozenset[str], frozenset[str]]]:
    """{article id: (words of its title, symptoms, codes and summary; pinyin pairs of its title and
    symptoms)}, as the index holds them: what a suggestion's coverage score compares the query with,
    without segmenting the articles again."""
    if not article_ids:
        return {}
    with connection.cursor() as cursor:
        if _on_postgres():
            cursor.execute(
                f"SELECT article_id, tsvector_to_array(ts_filter(head, '{{a,b}}')), "
                f"tsvector_to_array(ts_filter(head, '{{c}}')) FROM {ARTICLE_PG} WHERE article_id = ANY(%s)",
                [list(article_ids)],
            )
            return {row[0]: (frozenset(row[1]), frozenset(row[2])) for row in cursor.fetchall()}
        placeholders = ", ".join(["%s"] * len(article_ids))
        cursor.execute(
            f"SELECT rowid, title, symptoms, summary, sounds FROM {ARTICLE_FTS} WHERE rowid IN ({placeholders})",
            list(article_ids),
        )
        return {
            row[0]: (frozenset(f"{row[1]} {row[2]} {row[3]}".split()), frozenset(row[4].split()))
            for row in cursor.fetchall()
        }


# --- tickets --------------------------------------------------------------------------------


def ticket_search_index(ticket_ids: Sequence[int]) -> None:
    """(Re)index these tickets' subject and description for full-text search. Called after commit
    by triage's intake pipeline for new tickets, and in batches by `posdesk search_reindex`."""
    from posdesk.tickets.models import Ticket

    ids = sorted({int(i) for i in ticket_ids})
    for start in range(0, len(ids), TICKET_BATCH):
        batch = ids[start : start + TICKET_BATCH]
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
            Ticket.objects.filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", "subject", "description")[:batch]
        )
        if not chunk:
            break
        rows = [
            (ticket_id, documents.ticket_document(subject, description))
            for ticket_id, subject, description in chunk
        ]
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
    """Planner statistics after a bulk change (PostgreSQL's autovacuum comes later; SQLite keeps
    none until ANALYZE runs)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"ANALYZE knowledge_article, {ARTICLE_PG}" if _on_postgres() else "ANALYZE knowledge_article"
        )


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


def _ticket_ids_matching_postgres(tsquery: str, limit: int, below: int | None = None) -> list[int]:
    """Newest first without sorting every match: a common word (打印机: a tenth of all tickets) would
    make PostgreSQL fetch and sort 100,000 rows, and a backward primary-key scan would read every
    row for a word nobody used. So: the newest NEWEST_SCAN rows are read first (enough for a common
    word); otherwise the GIN index is asked window by window over the newest ids (a bitmap AND of
    the GIN and primary-key ranges), widening until `limit` rows are found. `below`: only ids
    under it (the next batch of a scoped search)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if below is None:
            cursor.execute(f"SELECT max(ticket_id) FROM {TICKET_PG}")
            newest = cursor.fetchone()[0]
            if newest is None:
                return []
        else:
            newest = below - 1
        # a common word: among the newest rows already (read at most NEWEST_SCAN of them, newest first)
        cursor.execute(
            f"SELECT ticket_id FROM (SELECT ticket_id, document FROM {TICKET_PG} WHERE ticket_id <= %s "
            "ORDER BY ticket_id DESC LIMIT %s) AS newest WHERE document @@ CAST(%s AS tsquery) "
            "ORDER BY ticket_id DESC LIMIT %s",
            [newest, NEWEST_SCAN, tsquery, limit],
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
                "AND ticket_id <= %s ORDER BY ticket_id DESC LIMIT %s",
                [tsquery, floor, newest, limit],
            )
            rows = [row[0] for row in cursor.fetchall()]
            if len(rows) >= limit or floor <= 0:
                return rows
            window *= 8


def _ticket_match(words: Sequence[str]) -> str:
    if _on_postgres():
        return " & ".join(_ts_lexeme(term) for term in words)
    return " AND ".join(_fts5_phrase(term) for term in words)


def _newest_ticket_ids(match: str, limit: int, below: int | None = None) -> list[int]:
    if _on_postgres():
        return _ticket_ids_matching_postgres(match, limit, below)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT rowid FROM {TICKET_FTS} WHERE {TICKET_FTS} MATCH %s AND rowid < %s ORDER BY rowid DESC LIMIT %s",
            [match, below if below is not None else 2**63 - 1, limit],
        )
        return [row[0] for row in cursor.fetchall()]


SMALL_SCOPE = 2_000  # tickets; a scope this small is checked against the index ticket by ticket
SCOPED_BATCH_MAX = 10_000  # matches read per round of a scoped search


def _scoped(within: QuerySet, ids: Sequence[int]) -> set[int]:
    """Those of `ids` inside `within`: the scope as a per-row check, so the plan is by primary key
    whatever the statistics say."""
    return set(
        within.model._default_manager.filter(
            Exists(within.order_by().filter(pk=OuterRef("pk"))),
            pk__in=list(ids),
        ).values_list("pk", flat=True)
    )


def _matching_among(match: str, ids: Sequence[int]) -> set[int]:
    """Those of `ids` whose words match."""
    with connection.cursor() as cursor:
        if _on_postgres():
            cursor.execute(
                f"SELECT ticket_id FROM {TICKET_PG} WHERE ticket_id = ANY(%s) AND document @@ CAST(%s AS tsquery)",
                [list(ids), match],
            )
        else:
            placeholders = ", ".join(["%s"] * len(ids))
            cursor.execute(
                f"SELECT rowid FROM {TICKET_FTS} WHERE {TICKET_FTS} MATCH %s AND rowid IN ({placeholders})",
                [match, *ids],
            )
        return {row[0] for row in cursor.fetchall()}


def ticket_ids_matching(query: str, *, limit: int = 200, within: QuerySet | None = None) -> list[int]:
    """Ids of the newest tickets whose subject or description holds every word of `query`; with
    `within` (a queryset of tickets: the caller's access gate and filters), the newest such tickets
    among those — not the newest of all tickets, filtered afterwards, which would leave a merchant
    or a filtered list with fewer hits (or none) though matches exist.

    The newest `limit` matches come first (enough for the desk's unfiltered list). When too few of
    them are in scope: a small scope (≤ SMALL_SCOPE tickets) is checked against the index directly;
    a larger one reads older matches in growing batches until `limit` are found or none are left."""
    words = documents.query_terms(query) or documents.terms(query)
    if not words or (within is not None and within.query.is_empty()):
        return []
    if within is not None and not within.query.has_filters():
        within = None  # every ticket (the desk, unfiltered): nothing to check
    match = _ticket_match(words)
    batch = limit
    ids = _newest_ticket_ids(match, batch)
    if within is None:
        return ids
    inside = _scoped(within, ids) if ids else set()
    found = [i for i in ids if i in inside]
    if len(found) >= limit or len(ids) < batch:
        return found[:limit]
    candidates = list(within.order_by().values_list("pk", flat=True)[: SMALL_SCOPE + 1])
    if len(candidates) <= SMALL_SCOPE:
        return sorted(_matching_among(match, candidates), reverse=True)[:limit] if candidates else []
    while len(found) < limit and len(ids) == batch:
        below = ids[-1]
        batch = min(batch * 4, SCOPED_BATCH_MAX)
        ids = _newest_ticket_ids(match, batch, below)
        if ids:
            inside = _scoped(within, ids)
            found += [i for i in ids if i in inside]
    return found[:limit]
