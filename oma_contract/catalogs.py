"""The words of a component in each language: a gettext domain kept as Babel's
``.po`` files under ``<folder>/<language>/LC_MESSAGES/<domain>.po``, compiled on
first use (no compiled file is kept in the repository). The message ids are the
English texts, so English needs no catalog and any language without one reads
English. Every component keeps its own domain (the service's pages, the
dashboard, the e-mails); this is the one loader they share.
"""

from __future__ import annotations

import functools
import gettext
import io
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po


class Catalogs:
    def __init__(self, domain: str, folder: Path) -> None:
        self.domain = domain
        self.folder = folder
        self._compiled: tempfile.TemporaryDirectory | None = None

    def _source(self, language: str) -> Path:
        return self.folder / language / "LC_MESSAGES" / f"{self.domain}.po"

    def _compile(self, language: str, target) -> None:
        with self._source(language).open("rb") as po:
            write_mo(target, read_po(po, locale=language, domain=self.domain))

    @functools.cache
    def translations(self, language: str) -> gettext.NullTranslations:
        """The texts in ``language``, compiled in memory (English, the message ids, without a catalog)."""
        if not self._source(language).exists():
            return gettext.NullTranslations()
        compiled = io.BytesIO()
        self._compile(language, compiled)
        compiled.seek(0)
        return gettext.GNUTranslations(compiled)

    @functools.cache
    def compiled_folder(self) -> str:
        """A folder of this process holding every catalog compiled to ``.mo``, for libraries
        that read them from disk (tornado's locale); removed when the process ends."""
        self._compiled = tempfile.TemporaryDirectory(prefix=f"{self.domain}-catalogs-")
        for source in self.folder.glob(f"*/LC_MESSAGES/{self.domain}.po"):
            language = source.parent.parent.name
            target = Path(self._compiled.name) / source.relative_to(self.folder).with_suffix(".mo")
            target.parent.mkdir(parents=True)
            with target.open("wb") as mo:
                self._compile(language, mo)
        return self._compiled.name
