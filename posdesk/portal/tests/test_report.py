"""Reporting a fault from the portal: terminal choice, photos, and double-submit safety."""

from __future__ import annotations

import re
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile

from posdesk.merchants.models import MerchantContact
from posdesk.tickets.models import Ticket, TicketAttachment
from tests import factories as f

REPORT = "/portal/report/"


def _form_token(client) -> str:
    page = client.get(REPORT).content.decode()
    return re.search(r'name="form_token" value="([0-9a-f-]{36})"', page).group(1)


def _photo(name: str, data: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def test_the_report_form_offers_the_merchants_terminals_only(world, merchant_client):
    page = merchant_client.get(REPORT).content.decode()
    assert 'id="report-form"' in page
    assert 'name="terminal"' in page and 'name="text"' in page and 'name="photos"' in page
    assert 'accept="image/*"' in page and 'capture="environment"' in page and "multiple" in page
    assert "SN …0001 · TID 10000001" in page
    assert "…0002" not in page  # the other merchant's terminal
    assert 'name="merchant"' not in page  # one shop: nothing to choose


def test_merchant_reports_a_fault_with_a_photo(world, merchant_client, png, django_capture_on_commit_callbacks):
    # given the report form with a real PNG photo
    token = _form_token(merchant_client)
    with django_capture_on_commit_callbacks(execute=True):
        response = merchant_client.post(REPORT, {
            "form_token": token, "terminal": world.terminal.pk, "text": "刷卡没反应，屏幕显示A0",
            "photos": [_photo("screen.png", png())],
        })
    # then one ticket is opened from the portal with the photo, and the merchant sees it
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response.url == f"/portal/tickets/{ticket.pk}/"
    assert (ticket.merchant, ticket.terminal, ticket.channel, ticket.created_by) == (
        world.merchant, world.terminal, "portal", world.merchant_user)
    attachment = TicketAttachment.objects.get(ticket=ticket)
    assert attachment.content_type == "image/png" and attachment.is_public
    page = merchant_client.get(response.url).content.decode()
    assert ticket.number in page and f'src="/attachments/{attachment.pk}"' in page
    assert merchant_client.get(f"/attachments/{attachment.pk}").status_code == 200


def test_a_report_without_a_terminal_is_accepted(world, merchant_client):
    response = merchant_client.post(REPORT, {"form_token": _form_token(merchant_client), "terminal": "",
                                             "text": "结算款没到账"})
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and ticket.terminal is None and ticket.merchant == world.merchant


def test_a_file_that_is_not_an_image_is_refused_and_nothing_is_created(world, merchant_client):
    fake = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200  # a Windows .exe
    response = merchant_client.post(REPORT, {
        "form_token": _form_token(merchant_client), "terminal": world.terminal.pk, "text": "打印机不出纸",
        "photos": [_photo("photo.jpg", fake, "image/jpeg")],
    })
    assert response.status_code == 200
    assert "The file photo.jpg is not an accepted type" in response.content.decode()
    assert not Ticket.objects.exists() and not TicketAttachment.objects.exists()


def test_an_oversize_photo_is_refused_and_nothing_is_created(world, merchant_client, png, settings):
    settings.ATTACHMENT_MAX_BYTES = 2048
    big = png((64, 64), noise=True)
    assert len(big) > 2048
    response = merchant_client.post(REPORT, {
        "form_token": _form_token(merchant_client), "terminal": world.terminal.pk, "text": "打印机不出纸",
        "photos": [_photo("big.png", big)],
    })
    assert response.status_code == 200
    assert "The file big.png is larger than 2.0\xa0KB." in response.content.decode()
    assert not Ticket.objects.exists()


def test_more_than_six_photos_are_refused(world, merchant_client, png):
    response = merchant_client.post(REPORT, {
        "form_token": _form_token(merchant_client), "terminal": world.terminal.pk, "text": "打印机不出纸",
        "photos": [_photo(f"p{i}.png", png()) for i in range(7)],
    })
    assert "At most 6 files at once." in response.content.decode()
    assert not Ticket.objects.exists()


def test_a_report_needs_a_description(world, merchant_client):
    response = merchant_client.post(REPORT, {"form_token": _form_token(merchant_client),
                                             "terminal": world.terminal.pk, "text": "   "})
    assert response.status_code == 200
    assert "Please describe the problem." in response.content.decode()
    assert not Ticket.objects.exists()


def test_resubmitting_the_same_form_returns_the_first_ticket(world, merchant_client, png):
    # given a form submitted once (with a photo)
    form = {"form_token": _form_token(merchant_client), "terminal": world.terminal.pk, "text": "刷卡没反应"}
    first = merchant_client.post(REPORT, {**form, "photos": [_photo("a.png", png())]})
    # when the same form is sent again (a double tap, a retry after a lost answer)
    second = merchant_client.post(REPORT, {**form, "photos": [_photo("a.png", png())]})
    # then it leads to the same ticket and nothing more is created
    assert first.status_code == second.status_code == 302 and first.url == second.url
    assert Ticket.objects.count() == 1 and TicketAttachment.objects.count() == 1
    page = merchant_client.get(second.url).content.decode()
    assert "This report was already sent." in page


def test_a_failed_submit_keeps_its_token_and_succeeds_once_corrected(world, merchant_client):
    token = _form_token(merchant_client)
    merchant_client.post(REPORT, {"form_token": token, "terminal": world.terminal.pk, "text": ""})
    response = merchant_client.post(REPORT, {"form_token": token, "terminal": world.terminal.pk, "text": "黑屏"})
    assert response.status_code == 302 and Ticket.objects.count() == 1


def test_a_form_without_a_valid_token_is_refused_with_a_fresh_one(world, merchant_client):
    response = merchant_client.post(REPORT, {"form_token": "not-a-uuid", "terminal": world.terminal.pk,
                                             "text": "黑屏"})
    page = response.content.decode()
    assert "This form has expired." in page
    assert re.search(r'name="form_token" value="[0-9a-f-]{36}"', page)
    assert not Ticket.objects.exists()


def test_merchant_cannot_report_on_another_merchants_terminal(world, merchant_client):
    response = merchant_client.post(REPORT, {"form_token": _form_token(merchant_client),
                                             "terminal": world.other_terminal.pk, "text": "刷卡没反应"})
    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    assert not Ticket.objects.exists()


def test_a_merchant_with_several_shops_chooses_the_shop(world, merchant_client):
    # given the merchant user is also a contact of a second shop with its own terminal
    second_shop = f.MerchantFactory(name="西湖便利店二号店")
    MerchantContact.objects.create(merchant=second_shop, name="张老板", mobile="13812345678",
                                   user=world.merchant_user)
    second_terminal = f.TerminalFactory(merchant=second_shop)
    page = merchant_client.get(REPORT).content.decode()
    assert 'name="merchant"' in page and "西湖便利店二号店 · " in page
    # a terminal decides the shop
    merchant_client.post(REPORT, {"form_token": _form_token(merchant_client), "terminal": second_terminal.pk,
                                  "text": "黑屏"})
    assert Ticket.objects.get().merchant == second_shop
    # without a terminal, the shop must be chosen
    response = merchant_client.post(REPORT, {"form_token": str(uuid.uuid4()), "terminal": "", "text": "到账慢"})
    assert "Choose the shop this report is about." in response.content.decode()
    merchant_client.post(REPORT, {"form_token": str(uuid.uuid4()), "merchant": world.merchant.pk,
                                  "terminal": "", "text": "到账慢"})
    assert Ticket.objects.filter(merchant=world.merchant, terminal=None).count() == 1
    # a shop and a terminal of different shops do not go together
    response = merchant_client.post(REPORT, {"form_token": str(uuid.uuid4()), "merchant": world.merchant.pk,
                                             "terminal": second_terminal.pk, "text": "黑屏"})
    assert "This terminal is not bound to this merchant." in response.content.decode()
    assert Ticket.objects.count() == 2
