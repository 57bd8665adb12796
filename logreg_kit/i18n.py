"""Messages in the reader's language, from one gettext catalogue per language.

Every string a student or instructor reads is written in English in the code, inside `_()` (said
now) or `N_()` (declared at import time, said later through `_()`), with named `{placeholders}`:

    _("expected shape {expected}, got {got}", expected=(64, 10), got=(10, 64))

The catalogues live in `logreg_kit/locale/<lang>/LC_MESSAGES/logreg_kit.po` (compiled to `.mo`
beside it). English is the source language: an English reader gets the text as written. The
language is the one a front end sets (`--lang`), else the first of the usual locale variables
(LANGUAGE, LC_ALL, LC_MESSAGES, LANG) this kit has a catalogue for, else the default (also for C
and POSIX, which ask for no translation): a student bundle's own language (`logreg-kit release
--lang zh_CN` writes it to `locale/bundle_language`), else English.

Only the standard library's `gettext` runs here: students need no Babel. The catalogues are
extracted, updated and compiled with Babel by `python -m logreg_kit.catalogue` (maintainers only).
"""
from __future__ import annotations

import functools
import gettext
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

DOMAIN = "logreg_kit"
LOCALE_DIR = Path(__file__).parent / "locale"
SOURCE_LANGUAGE = "en"
ENV_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")  # gettext's own order
BUNDLE_LANGUAGE_FILE = LOCALE_DIR / "bundle_language"  # in a student bundle: the language it was built in
NO_LANGUAGE = ("C", "POSIX")  # locales that ask for no translation: the default (GitHub's runners set LANG=C.UTF-8)

T = TypeVar("T")
class _Spoken:
    """The language spoken now, and its catalogue (None until first use: the locale variables decide).

    An object, not a module-level dict: batch/fingerprint.py hashes the plain values a check reaches
    by name, and a catalogue object's repr differs in every process."""

    def __init__(self) -> None:
        self.language: str | None = None
        self.translations: gettext.NullTranslations | None = None


_spoken = _Spoken()


def available_languages() -> tuple[str, ...]:
    """The languages with a compiled catalogue, English first: ("en", "zh_CN")."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))
    return (SOURCE_LANGUAGE, *[lang for lang in found if lang != SOURCE_LANGUAGE])


def normalise(tag: str) -> str | None:
    """A locale tag as a catalogue name, or None when no catalogue serves it.

    "zh_CN.UTF-8" -> "zh_CN", "zh-cn" -> "zh_CN", "zh" -> "zh_CN", "en_GB" -> "en", "C" -> "en".
    """
    bare = tag.split(".")[0].split("@")[0].replace("-", "_").strip()
    if bare in ("", "C", "POSIX"):
        return SOURCE_LANGUAGE
    lang, _sep, region = bare.partition("_")
    wanted = f"{lang.lower()}_{region.upper()}" if region else lang.lower()
    known = available_languages()
    if wanted in known:
        return wanted
    same_language = [k for k in known if k.split("_")[0] == lang.lower()]
    return same_language[0] if same_language else None


def default_language() -> str:
    """The language spoken when no locale variable names one: a bundle's own, else English."""
    try:
        tag = BUNDLE_LANGUAGE_FILE.read_text(encoding="utf-8").strip()
    except OSError:
        return SOURCE_LANGUAGE
    return normalise(tag) or SOURCE_LANGUAGE


def language_from_environment(environ: dict[str, str] | None = None) -> str:
    """The language the locale variables ask for, in gettext's order; the default when none is served."""
    env = os.environ if environ is None else environ
    for variable in ENV_VARIABLES:
        for tag in env.get(variable, "").split(":"):
            if tag.split(".")[0] in NO_LANGUAGE:
                return default_language()  # C decides, as in gettext: untranslated, i.e. the default
            if tag and (lang := normalise(tag)) is not None:
                return lang
    return default_language()


class UnknownLanguage(ValueError):
    """A language this kit has no catalogue for; the message names the ones it has."""

    def __init__(self, lang: str) -> None:
        super().__init__(f"logreg-kit has no messages in language {lang!r}; available: {', '.join(available_languages())}")
        self.lang = lang


def check_language(lang: str | None) -> str | None:
    """`lang` as a catalogue name (None stays None: the locale variables decide); UnknownLanguage
    when no catalogue serves it. For front ends that validate an option before using it."""
    if lang is None or lang == "":
        return None
    chosen = normalise(lang)
    if chosen is None:
        raise UnknownLanguage(lang)
    return chosen


def set_language(lang: str | None) -> str:
    """Speak `lang` from now on (None: the locale variables decide). Returns the language chosen.

    Raises ValueError, naming the languages there are, for a language with no catalogue.
    """
    chosen = language_from_environment() if lang is None else normalise(lang)
    if chosen is None:
        raise UnknownLanguage(lang or "")
    _spoken.language = chosen
    _spoken.translations = gettext.translation(DOMAIN, LOCALE_DIR, languages=[chosen], fallback=True)
    return chosen


@contextmanager
def speaking(lang: str | None) -> Iterator[str]:
    """Speak `lang` inside the block (set_language), then go back to the language spoken before."""
    before = (_spoken.language, _spoken.translations)
    try:
        yield set_language(lang)
    finally:
        _spoken.language, _spoken.translations = before


def current_language() -> str:
    """The language messages are said in now."""
    if _spoken.language is None:
        set_language(None)
    return str(_spoken.language)


def _translations() -> gettext.NullTranslations:
    if _spoken.translations is None:
        set_language(None)
    return _spoken.translations  # type: ignore[return-value]


def _(message: str, **params: object) -> str:
    """`message` in the current language, its `{placeholders}` filled from `params`."""
    text = _translations().gettext(message)
    return text.format(**params) if params else text


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    """The singular or plural form for `n` in the current language; `{n}` and `params` filled in."""
    text = _translations().ngettext(singular, plural, n)
    return text.format(n=n, **params)


def N_(message: str) -> str:
    """Mark `message` for the catalogue without translating it yet (module-level declarations)."""
    return message


@dataclass(frozen=True)
class Later:
    """A message decided now and said later, in the language spoken then: `msgid` (declared with
    N_()) and its values. For what is worked out once and kept (a cached probe of bwrap) but read
    in whatever language a later report is in. Values stay as they are (a path, a tool's own words)."""

    msgid: str
    params: tuple[tuple[str, object], ...] = ()

    @classmethod
    def of(cls, msgid: str, **params: object) -> "Later":
        return cls(msgid, tuple(sorted(params.items())))

    def said(self) -> str:
        """The message in the language spoken now."""
        return _(self.msgid, **dict(self.params))


def forms(message: str) -> tuple[str, ...]:
    """`message` as written and in every language there is a catalogue for: for recognising a
    message that another process (the sandboxed worker, an earlier run) said in any of them."""
    return every_language(message)


def mentions(text: str, message: str) -> bool:
    """Whether `text` contains `message`, in any language."""
    return any(form in text for form in forms(message))


def cache_per_language(maxsize: int) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """functools.lru_cache for a function whose result holds messages: one entry per language, so
    that a process that grades in two languages never says a cached message in the other one."""
    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        cached = functools.lru_cache(maxsize=maxsize)(lambda lang, *args, **kwargs: fn(*args, **kwargs))

        @functools.wraps(fn)
        def said(*args: Any, **kwargs: Any) -> T:
            return cached(current_language(), *args, **kwargs)

        said.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        return said

    return decorate


@functools.lru_cache(maxsize=256)
def every_language(message: str) -> tuple[str, ...]:
    """`message` in every language there is a catalogue for (English first, no repeats): for
    reading back text that was said in any of them (a class overview of feedback in two languages)."""
    said = [gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True).gettext(message)
            for lang in available_languages()]
    return tuple(dict.fromkeys([message, *said]))


def prefixes(message: str) -> tuple[str, ...]:
    """What `message` says before its first {placeholder}, in every language: ("hint: ", "提示：")."""
    return tuple(dict.fromkeys(text.split("{", 1)[0] for text in every_language(message)))
