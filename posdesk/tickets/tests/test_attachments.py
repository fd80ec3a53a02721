"""Uploaded files: only photos and PDF, judged by content, within the size limit; stored with the
ticket and served only to people who may see them."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from posdesk.core.errors import PermissionDenied, ValidationFailed
from posdesk.core.taxonomy import Status
from posdesk.tickets.attachments import MAX_FILES_PER_UPLOAD, check_upload, check_uploads
from posdesk.tickets.models import TicketAttachment, TicketEvent
from posdesk.tickets.services import ticket_add_note, ticket_attach, ticket_transition
from posdesk.tickets.tests.builders import exe_bytes, image_bytes, jpeg_bytes, pdf_bytes, png_bytes


def _stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- the checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("receipt.png", png_bytes(), "image/png"),
        ("screen.jpg", jpeg_bytes(), "image/jpeg"),
        ("screen.gif", image_bytes("GIF"), "image/gif"),
        ("screen.webp", image_bytes("WEBP"), "image/webp"),
        ("invoice.pdf", pdf_bytes(), "application/pdf"),
    ],
)
def test_photos_and_pdf_are_accepted_with_the_type_read_from_the_content(name, data, content_type):
    checked = check_upload(name, data)
    assert (checked.name, checked.content_type, checked.data) == (name, content_type, data)


def test_the_type_comes_from_the_content_not_the_name():
    assert check_upload("photo.pdf", png_bytes()).content_type == "image/png"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("photo.png", exe_bytes()),  # a renamed executable
        ("notes.jpg", "打印机不出纸\n".encode()),  # a text file with a photo's name
        ("page.pdf", b"<html><script>alert(1)</script></html>"),
        ("broken.png", png_bytes()[:20]),  # a truncated image
    ],
)
def test_anything_else_is_refused_as_not_an_accepted_type(name, data):
    with pytest.raises(ValidationFailed) as refused:
        check_upload(name, data)
    assert refused.value.code == "attachment_type_not_allowed"
    assert refused.value.detail == {"field": "files", "name": name}


def test_a_file_over_the_limit_is_refused(settings):
    settings.ATTACHMENT_MAX_BYTES = 500
    data = image_bytes("PNG", size=(300, 300))
    assert len(data) > 500
    with pytest.raises(ValidationFailed) as refused:
        check_upload("big.png", data)
    assert refused.value.code == "attachment_too_large"
    assert refused.value.detail["max_bytes"] == 500
    assert refused.value.detail["size"] == len(data)


def test_a_file_exactly_at_the_limit_is_accepted(settings):
    data = pdf_bytes()
    settings.ATTACHMENT_MAX_BYTES = len(data)
    assert check_upload("at-limit.pdf", data).content_type == "application/pdf"


def test_an_empty_file_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        check_upload("empty.png", b"")
    assert refused.value.code == "attachment_empty"


def test_a_path_in_the_file_name_is_dropped():
    assert check_upload("..\\..\\windows/evil\x00.png", png_bytes()).name == "evil.png"


def test_more_than_the_allowed_number_of_files_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        check_uploads([(f"p{i}.png", png_bytes()) for i in range(MAX_FILES_PER_UPLOAD + 1)])
    assert refused.value.code == "too_many_attachments"


def test_one_bad_file_refuses_the_whole_upload():
    with pytest.raises(ValidationFailed):
        check_uploads([("ok.png", png_bytes()), ("bad.png", exe_bytes())])


# --- storing ------------------------------------------------------------------------------


def test_attaching_stores_the_files_with_an_event(world, open_ticket, settings):
    ticket = open_ticket()
    stored = ticket_attach(
        ticket=ticket,
        actor=world.merchant_user,
        files=check_uploads([("receipt.png", png_bytes()), ("invoice.pdf", pdf_bytes())]),
    )
    assert [(a.original_name, a.content_type, a.is_public) for a in stored] == [
        ("receipt.png", "image/png", True),
        ("invoice.pdf", "application/pdf", True),
    ]
    event = ticket.events.get(kind=TicketEvent.Kind.ATTACHMENT)
    assert event.data == {"count": 2}
    assert set(event.attachments.all()) == set(stored)
    assert stored[0].file.read() == png_bytes()
    assert len(_stored_files(settings)) == 2


def test_a_refused_upload_stores_nothing(world, open_ticket, settings):
    ticket = open_ticket()
    with pytest.raises(ValidationFailed):
        ticket_attach(ticket=ticket, actor=world.agent, files=check_uploads([("x.png", exe_bytes())]))
    assert not TicketAttachment.objects.exists()
    assert _stored_files(settings) == []
    assert not ticket.events.filter(kind=TicketEvent.Kind.ATTACHMENT).exists()


def test_attaching_nothing_is_refused(world, open_ticket):
    with pytest.raises(ValidationFailed) as refused:
        ticket_attach(ticket=open_ticket(), actor=world.agent, files=[])
    assert refused.value.code == "attachment_missing"


def test_a_merchant_cannot_attach_internal_files(world, open_ticket):
    with pytest.raises(PermissionDenied):
        ticket_attach(
            ticket=open_ticket(),
            actor=world.merchant_user,
            files=check_uploads([("a.png", png_bytes())]),
            is_public=False,
        )
    assert not TicketAttachment.objects.exists()


def test_nothing_is_attached_to_a_closed_ticket(world, open_ticket):
    ticket = open_ticket()
    ticket_transition(ticket=ticket, actor=world.agent, to_status=Status.CANCELLED, reason="重复报修")
    with pytest.raises(PermissionDenied):
        ticket_attach(ticket=ticket, actor=world.agent, files=check_uploads([("a.png", png_bytes())]))


# --- downloading --------------------------------------------------------------------------


@pytest.fixture
def public_photo(world, open_ticket):
    ticket = open_ticket()
    return ticket_attach(
        ticket=ticket, actor=world.merchant_user, files=check_uploads([("小票.png", png_bytes())])
    )[0]


@pytest.fixture
def internal_photo(world, open_ticket):
    ticket = open_ticket()
    note = ticket_add_note(
        ticket=ticket,
        actor=world.agent,
        body="内部：机具外壳有撬痕",
        attachments=check_uploads([("casing.jpg", jpeg_bytes())]),
    )
    return note.attachments.get()


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", ["merchant", "agent", "supervisor", "admin"])
def test_people_who_may_see_the_ticket_download_its_photo(world, public_photo, role):
    response = _signed_in(world.users[role]).get(f"/attachments/{public_photo.pk}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png_bytes()
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "private, max-age=3600"
    assert "default-src 'none'" in response["Content-Security-Policy"]


def test_merchant_of_another_shop_gets_404(world, open_ticket):
    other_ticket = open_ticket(merchant=world.other_merchant)
    photo = ticket_attach(
        ticket=other_ticket, actor=world.agent, files=check_uploads([("a.png", png_bytes())])
    )[0]
    assert _signed_in(world.merchant_user).get(f"/attachments/{photo.pk}").status_code == 404


@pytest.mark.parametrize("role", ["technician", "vendor"])
def test_field_staff_not_on_the_ticket_get_404(world, public_photo, role):
    assert _signed_in(world.users[role]).get(f"/attachments/{public_photo.pk}").status_code == 404


def test_an_internal_attachment_is_404_for_the_merchant_but_served_to_staff(world, internal_photo):
    assert _signed_in(world.merchant_user).get(f"/attachments/{internal_photo.pk}").status_code == 404
    assert _signed_in(world.agent).get(f"/attachments/{internal_photo.pk}").status_code == 200


def test_anonymous_gets_404(world, public_photo):
    assert Client().get(f"/attachments/{public_photo.pk}").status_code == 404


def test_an_inactive_user_gets_404(world, public_photo):
    client = _signed_in(world.agent)
    world.agent.is_active = False
    world.agent.save(update_fields=["is_active"])
    assert client.get(f"/attachments/{public_photo.pk}").status_code == 404


def test_a_pdf_is_shown_inline_under_its_own_name(world, open_ticket):
    ticket = open_ticket()
    pdf = ticket_attach(ticket=ticket, actor=world.agent, files=check_uploads([("发票.pdf", pdf_bytes())]))[0]
    response = _signed_in(world.agent).get(f"/attachments/{pdf.pk}")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")


def test_an_api_client_downloads_with_its_bearer_token(world, public_photo, api):
    """The API hands out `/attachments/<id>` URLs; a token client must be able to follow them."""
    response = api(world.merchant_user).get(f"/attachments/{public_photo.pk}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png_bytes()


def test_a_bearer_token_does_not_open_another_merchants_attachment(world, open_ticket, api):
    other_ticket = open_ticket(merchant=world.other_merchant)
    photo = ticket_attach(
        ticket=other_ticket, actor=world.agent, files=check_uploads([("a.png", png_bytes())])
    )[0]
    assert api(world.merchant_user).get(f"/attachments/{photo.pk}").status_code == 404
    assert (
        Client(headers={"Authorization": "Bearer pd_not-a-token"}).get(f"/attachments/{photo.pk}").status_code
        == 404
    )
