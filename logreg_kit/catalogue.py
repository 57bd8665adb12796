"""The message catalogues, maintained with Babel (for maintainers; grading needs only `gettext`).

    python -m logreg_kit.catalogue extract    # the template: every msgid in the code (babel.cfg)
    python -m logreg_kit.catalogue update     # extract, merge it into every language's .po, compile
    python -m logreg_kit.catalogue compile    # every .po -> its .mo (committed beside it)
    python -m logreg_kit.catalogue init fr    # a new language: logreg_kit/locale/fr/LC_MESSAGES/logreg_kit.po
    python -m logreg_kit.catalogue check      # missing, untranslated or unused entries, stale .mo
    python -m logreg_kit.catalogue restore zh_CN OTHER.po ...  # after a merge: fill the untranslated
                                              # entries of zh_CN from other versions of its catalogue

Each command runs Babel's own `pybabel` with this kit's settings: the keywords `_`, `N_` and
`ngettext:1,2` (named placeholders stay in the msgid), entries sorted and located by file only,
so that a moved line does not change a catalogue.
"""
from __future__ import annotations

import gettext
import os
import re
import sys
import tempfile
from pathlib import Path

from .i18n import DOMAIN, LOCALE_DIR, SOURCE_LANGUAGE

ROOT = LOCALE_DIR.parent.parent
CONFIG = ROOT / "babel.cfg"
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"  # not committed: made again by every extract
KEYWORDS = ("_", "N_", "ngettext:1,2")
BUGS_ADDRESS = "logreg-kit maintainers"
WIDTH = 76  # pybabel's own line width, so that `fill` and `update` write alike


def pybabel(*args: str) -> None:
    """Run `pybabel ARGS` in this process, from the repository's root (locations are relative to
    it); SystemExit on failure, as the command line does."""
    from babel.messages.frontend import CommandLineInterface  # maintainers' tool only

    here = os.getcwd()
    os.chdir(ROOT)
    try:
        CommandLineInterface().run(["pybabel", "-q", *args])
    finally:
        os.chdir(here)


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def languages() -> list[str]:
    """Every language with a .po file (the .mo files follow from them)."""
    return sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def extract(output: Path = TEMPLATE) -> Path:
    """Every msgid of the code that babel.cfg maps, into the template `output`."""
    keywords = [arg for k in KEYWORDS for arg in ("-k", k)]
    pybabel("extract", "-F", str(CONFIG), "--no-default-keywords", *keywords, "--sort-output",
            "--add-location=file", "--project=logreg-kit", "--version=0.1", f"--msgid-bugs-address={BUGS_ADDRESS}",
            "--copyright-holder=the logreg-kit authors", "-o", str(output), ".")
    return output


def update() -> None:
    """Extract, merge the template into every .po (new msgids come in untranslated, unused ones
    leave: no fuzzy guesses, a translation is either written or missing), then compile."""
    template = extract()
    for lang in languages():
        pybabel("update", "-i", str(template), "-d", str(LOCALE_DIR), "-D", DOMAIN, "-l", lang,
                "--no-fuzzy-matching", "--ignore-obsolete")
        _drop_creation_date(po_path(lang))
    compile_all()


def _drop_creation_date(path: Path) -> None:
    """Leave the template's date out of a .po: it changes at every extract, and would make every
    update a change (and every merge of two branches' catalogues a conflict) for nothing."""
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r'^"POT-Creation-Date: [^"]*"\n', "", text, count=1, flags=re.M), encoding="utf-8")


def compile_all(directory: Path = LOCALE_DIR) -> None:
    """Every .po under `directory` into its .mo (what `pybabel compile` does, but the same bytes
    every time: the header's template date, which a .po leaves out, is its revision date)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po.open("rb") as fh:
            catalog = read_po(fh)
        catalog.creation_date = catalog.revision_date
        with po.with_suffix(".mo").open("wb") as fh:
            write_mo(fh, catalog)


def init(lang: str) -> Path:
    """A new language's catalogue, every msgid untranslated; translate it, then `compile`."""
    pybabel("init", "-i", str(extract()), "-d", str(LOCALE_DIR), "-D", DOMAIN, "-l", lang)
    return po_path(lang)


def fill(lang: str, translations: "dict[str, str]") -> int:
    """Write `translations` (msgid -> msgstr) into the untranslated entries of `lang`'s .po that have
    those msgids; how many were filled. Entries already translated are kept as they are."""
    from babel.messages.pofile import read_po, write_po

    path = po_path(lang)
    with path.open("rb") as fh:
        catalog = read_po(fh)
    filled = 0
    for message in catalog:
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        if key and not _translated(message.string) and translations.get(key):
            message.string = translations[key] if not isinstance(message.id, tuple) else (translations[key],)
            message.flags.discard("fuzzy")
            filled += 1
    with path.open("wb") as fh:
        write_po(fh, catalog, width=WIDTH, include_previous=False, sort_output=True)
    return filled


def restore(lang: str, *others: Path) -> int:
    """After a merge (or `update`) left entries untranslated: fill them from other versions of the
    catalogue (each side's .po before the merge, e.g. `git show main:PATH > main.po`)."""
    found: dict[str, str] = {}
    for other in others:
        found.update({k: v for k, v in read(other).items() if v})
    return fill(lang, found)


def _translated(string: "str | tuple[str, ...]") -> bool:
    return bool(string[0] if isinstance(string, tuple) else string)


def read(path: Path) -> "dict[str, str]":
    """msgid -> msgstr of a .po or .pot (plural entries keyed by their singular; the header left out)."""
    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        catalog = read_po(fh)
    return {(m.id[0] if isinstance(m.id, tuple) else m.id): (m.string[0] if isinstance(m.string, tuple) else m.string)
            for m in catalog if m.id and not m.fuzzy}


def brace_formats(path: Path) -> "set[str]":
    """The msgids of a .po or .pot that Babel flags `python-brace-format` (said with named values)."""
    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        return {(m.id[0] if isinstance(m.id, tuple) else m.id) for m in read_po(fh) if m.id and "python-brace-format" in m.flags}


def problems() -> list[str]:
    """What is wrong with the catalogues, in words; [] when every language has exactly the code's
    msgids, every non-English entry is translated and every .mo says what its .po says."""
    found: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        wanted = set(read(extract(Path(tmp) / f"{DOMAIN}.pot")))
        for lang in languages():
            have = read(po_path(lang))
            found += [f"{lang}: missing {m!r}" for m in sorted(wanted - set(have))]
            found += [f"{lang}: unused {m!r}" for m in sorted(set(have) - wanted)]
            if lang != SOURCE_LANGUAGE:
                found += [f"{lang}: untranslated {m!r}" for m in sorted(wanted & set(have)) if not have[m]]
            else:
                found += [f"{lang}: {m!r} differs from its msgid" for m, s in have.items() if s and s != m]
        found += stale_compiled(Path(tmp) / "compiled")
    return found


def stale_compiled(scratch: Path) -> list[str]:
    """The languages whose committed .mo does not hold what their .po compiles to."""
    import shutil

    shutil.copytree(LOCALE_DIR, scratch, ignore=shutil.ignore_patterns("*.mo", "*.pot"))
    compile_all(scratch)
    stale = []
    for lang in languages():
        fresh = gettext.translation(DOMAIN, scratch, languages=[lang])
        committed = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
        if not committed.exists():
            stale.append(f"{lang}: no compiled .mo")
            continue
        with committed.open("rb") as fh:
            if gettext.GNUTranslations(fh)._catalog != fresh._catalog:  # type: ignore[attr-defined]
                stale.append(f"{lang}: the .mo is not the compiled .po (run `python -m logreg_kit.catalogue compile`)")
    return stale


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "check"
    if command == "extract":
        print(extract())
    elif command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "init" and len(args) == 2:
        print(init(args[1]))
    elif command == "restore" and len(args) >= 3:
        print(f"{restore(args[1], *map(Path, args[2:]))} entries filled")
    elif command == "check":
        found = problems()
        print("\n".join(found) or "the catalogues are complete and compiled")
        return 1 if found else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
