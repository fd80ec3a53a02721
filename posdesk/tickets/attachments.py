"""Checks for uploaded files: images (JPEG, PNG, WebP, GIF) and PDF only, identified by their
content rather than by the name a client sends, and no larger than ATTACHMENT_MAX_BYTES."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from posdesk.core.errors import ValidationFailed

MAX_FILES_PER_UPLOAD = 6
_IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


@dataclass(frozen=True)
class CheckedFile:
    name: str
    content_type: str
    data: bytes


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            image.verify()  # truncated or corrupt images fail here
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return _IMAGE_TYPES.get(kind or "")


def check_upload(name: str, data: bytes) -> CheckedFile:
    limit = settings.ATTACHMENT_MAX_BYTES
    if len(data) > limit:
        raise ValidationFailed(
            _("The file %(name)s is larger than %(limit)s.") % {"name": name, "limit": filesizeformat(limit)},
            code="attachment_too_large",
            detail={"field": "files", "name": name, "max_bytes": limit, "size": len(data)},
        )
    if not data:
        raise ValidationFailed(_("The file %(name)s is empty.") % {"name": name}, code="attachment_empty",
                               detail={"field": "files", "name": name})
    content_type = _sniff(data)
    if content_type is None:
        raise ValidationFailed(
            _("The file %(name)s is not an accepted type: photos (JPEG, PNG, WebP, GIF) or PDF only.")
            % {"name": name},
            code="attachment_type_not_allowed",
            detail={"field": "files", "name": name},
        )
    safe_name = "".join(c for c in name.replace("\\", "/").rsplit("/", 1)[-1] if c.isprintable())[:120]
    return CheckedFile(name=safe_name or "file", content_type=content_type, data=data)


def check_uploads(files: list[tuple[str, bytes]]) -> list[CheckedFile]:
    if len(files) > MAX_FILES_PER_UPLOAD:
        raise ValidationFailed(
            _("At most %(count)d files at once.") % {"count": MAX_FILES_PER_UPLOAD},
            code="too_many_attachments", detail={"field": "files"},
        )
    return [check_upload(name, data) for name, data in files]
