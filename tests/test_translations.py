"""Every user-facing string has a zh-Hans translation that keeps its placeholders."""

import re
from pathlib import Path

from babel.messages.pofile import read_po

PO = Path(__file__).resolve().parent.parent / "posdesk/locale/zh_Hans/LC_MESSAGES/django.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


def _messages():
    with PO.open("rb") as handle:
        return [m for m in read_po(handle) if m.id]


def test_every_message_is_translated_and_none_is_fuzzy():
    untranslated = [m.id for m in _messages() if not (m.string[0] if isinstance(m.string, tuple) else m.string)]
    fuzzy = [m.id for m in _messages() if m.fuzzy]
    assert untranslated == [] and fuzzy == []


def test_translations_keep_their_placeholders():
    for message in _messages():
        source = message.id[0] if isinstance(message.id, tuple) else message.id
        target = message.string[0] if isinstance(message.string, tuple) else message.string
        assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(target)), source
