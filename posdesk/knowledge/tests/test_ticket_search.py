"""Full-text search of tickets and the ticket list's `q`: exact numbers win, words search."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from posdesk.knowledge.search import ticket_ids_matching, ticket_search_index
from posdesk.tickets.selectors import TicketFilters, ticket_filter

pytestmark = pytest.mark.django_db


def test_an_indexed_ticket_is_found_by_its_words(world, open_ticket) -> None:
    # given two tickets, indexed (as triage's pipeline does after commit)
    printer = open_ticket(text="店里的打印机不出纸了，小票打不出来")
    deposit = open_ticket(text="押金什么时候退给我")
    ticket_search_index([printer.pk, deposit.pk])
    # then each is found by its own words, and a query needs all its words
    assert ticket_ids_matching("打印机") == [printer.pk]
    assert ticket_ids_matching("押金 退") == [deposit.pk]
    assert ticket_ids_matching("打印机 押金") == []
    assert ticket_ids_matching("   ") == []


def test_newest_matching_tickets_come_first_and_the_limit_holds(world, open_ticket) -> None:
    tickets = [open_ticket(text=f"刷卡没反应 第{n}次") for n in range(5)]
    ticket_search_index([t.pk for t in tickets])
    assert ticket_ids_matching("刷卡", limit=3) == [t.pk for t in reversed(tickets)][:3]


def test_reindexing_a_ticket_replaces_its_words(world, open_ticket) -> None:
    ticket = open_ticket(text="流量卡没网")
    ticket_search_index([ticket.pk])
    ticket.description = "扫码失败"
    ticket.subject = "扫码失败"
    ticket.save(update_fields=["description", "subject"])
    ticket_search_index([ticket.pk])
    assert ticket_ids_matching("流量卡") == [] and ticket_ids_matching("扫码") == [ticket.pk]


def test_the_ticket_list_q_searches_words_and_exact_numbers_still_win(world, open_ticket) -> None:
    printer = open_ticket(text="打印机不出纸")
    other = open_ticket(merchant=world.other_merchant, text=f"我的终端号{world.terminal.tid}打印机坏了")
    ticket_search_index([printer.pk, other.pk])
    words = ticket_filter(world.agent, TicketFilters(q="打印机"))
    assert set(words.values_list("pk", flat=True)) == {printer.pk, other.pk}
    # an exact TID means that terminal's tickets, even though the number is in another ticket's text
    exact = ticket_filter(world.agent, TicketFilters(q=world.terminal.tid))
    assert set(exact.values_list("pk", flat=True)) == set(
        type(printer).objects.filter(terminal=world.terminal).values_list("pk", flat=True)
    )
    assert other.pk not in set(exact.values_list("pk", flat=True))
    assert list(ticket_filter(world.agent, TicketFilters(q=printer.number)).values_list("pk", flat=True)) == [
        printer.pk
    ]


def test_word_search_stays_inside_the_users_access_gate(world, open_ticket) -> None:
    mine = open_ticket(text="打印机不出纸")
    theirs = open_ticket(merchant=world.other_merchant, text="打印机不出纸")
    ticket_search_index([mine.pk, theirs.pk])
    found = set(ticket_filter(world.merchant_user, TicketFilters(q="打印机")).values_list("pk", flat=True))
    assert found == {mine.pk}


def test_merchant_name_search_still_works_beside_words(world, open_ticket) -> None:
    ticket = open_ticket(text="押金")
    ticket_search_index([ticket.pk])
    assert list(ticket_filter(world.agent, TicketFilters(q="西湖便利")).values_list("pk", flat=True)) == [ticket.pk]


def test_search_reindex_builds_the_index_of_an_existing_database(world, open_ticket) -> None:
    # given tickets written without the index (an existing database)
    tickets = [open_ticket(text="签到失败 A0"), open_ticket(text="押金怎么退")]
    assert ticket_ids_matching("签到") == []
    # when the command rebuilds it
    out = io.StringIO()
    call_command("search_reindex", "--tickets", stdout=out)
    # then the tickets are found
    assert ticket_ids_matching("签到") == [tickets[0].pk]
    assert "tickets indexed: 2" in out.getvalue()


def test_search_reindex_rebuilds_articles_too(world) -> None:
    from posdesk.demo.articles import demo_articles_load
    from posdesk.knowledge.selectors import article_suggest

    demo_articles_load(actor=world.admin)
    out = io.StringIO()
    call_command("search_reindex", "--articles", stdout=out)
    assert "articles indexed: 3" in out.getvalue()
    assert article_suggest(text="押金怎么退")[0].slug == "deposit-refund"
