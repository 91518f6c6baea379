"""Translators' tools accept the catalogs: gettext's ``msgfmt --check`` and Babel's own
checks pass, the headers are filled in, and nothing is left fuzzy or obsolete."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.app import LOCALES
from bot.i18n import SUPPORTED

CATALOGS = [LOCALES / lang / "LC_MESSAGES" / "messages.po" for lang in SUPPORTED]


@pytest.mark.parametrize("po", CATALOGS, ids=SUPPORTED)
def test_babel_checks_pass_and_nothing_is_fuzzy_or_obsolete(po: Path) -> None:
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=po.parent.parent.name)
    problems = [(message.id, [str(e) for e in errors]) for message, errors in catalog.check() if errors]
    assert problems == []
    assert not catalog.fuzzy, "the header is still marked fuzzy"
    assert [m.id for m in catalog if m.id and m.fuzzy] == []
    assert list(catalog.obsolete) == []
    header = po.read_text(encoding="utf-8").split("\n\n", 1)[0]
    for placeholder in ("YEAR-MO-DA", "FULL NAME", "EMAIL@ADDRESS", "LL@li.org", "ORGANIZATION"):
        assert placeholder not in header, f"{po}: header still says {placeholder}"


@pytest.mark.parametrize("po", CATALOGS, ids=SUPPORTED)
def test_msgfmt_check_passes(po: Path) -> None:
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:  # gettext is on this kind of machine; say so loudly where it is not
        pytest.fail("msgfmt (Debian package gettext) is not installed")
    result = subprocess.run([msgfmt, "--check", "-o", "/dev/null", str(po)], capture_output=True, text=True)
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
