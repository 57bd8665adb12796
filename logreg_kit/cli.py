"""`logreg-kit` / `python -m logreg_kit`: the kit's command line, one subcommand per verb."""
import argparse
import sys
from pathlib import Path

from . import build as build_module
from . import cells, notebook_build


def cmd_build(args: argparse.Namespace) -> int:
    """Regenerate assignments/, the course notebook and the README's exercise table from solutions/ and
    logreg_kit/exercises.py (or, with --check, only report stale files)."""
    from . import readme_build  # heavy: the checks' points (torch); the other verbs start without it

    if args.check:
        stale = [f"assignments/{name}" for name in build_module.stale_files()]
        stale += [str(cells.NOTEBOOK.relative_to(build_module.ROOT))] if notebook_build.notebook_is_stale() else []
        stale += ["README.md"] if readme_build.readme_is_stale() else []
        for name in stale:
            print(f"stale: {name} (run `python -m logreg_kit build`)")
        return 1 if stale else 0
    changed = build_module.build()
    print(f"assignments/: {len(changed)} file(s) written" + (f": {', '.join(changed)}" if changed else ""))
    if notebook_build.build_notebook():
        print(f"{cells.NOTEBOOK.relative_to(build_module.ROOT)}: written")
    if readme_build.build_readme():
        print("README.md: the exercise table and points written")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    """Build the student bundle (stubs, public grader, recorded reference values) in --out, in --lang
    (else the language the locale variables ask for)."""
    from . import release  # lazy: torch and the checks, for this verb only
    from .i18n import language_from_environment, ngettext

    lang = args.lang or language_from_environment()
    try:
        files = release.release(args.out, lang=lang)
    except release.ReleaseError as err:
        print(f"release: {err}", file=sys.stderr)
        return 1
    print(ngettext("{out}: student bundle of {n} file, in {lang}", "{out}: student bundle of {n} files, in {lang}",
                   len(files), out=args.out, lang=release.bundle_language(lang)))
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    """Grade a folder or notebook, then re-grade the changed exercises on every save."""
    from . import watch  # lazy: torch and the checks, for this verb only

    return watch.main([args.target, "--data", args.data, "--poll", str(args.poll)] + (["--lang", args.lang] if args.lang else []))


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="logreg-kit", description=__doc__)
    verbs = top.add_subparsers(dest="verb", required=True)
    b = verbs.add_parser("build", help="generate the student files from solutions/")
    b.add_argument("--check", action="store_true", help="only report generated files that are stale; exit 1 if any")
    b.set_defaults(run=cmd_build)
    r = verbs.add_parser("release", help="build the student bundle: stubs, public checks, no solutions")
    r.add_argument("--out", required=True, type=Path, help="a new or empty folder")
    r.add_argument("--lang", default=None, metavar="LANG",
                   help="the bundle's language: its README, stubs' docstrings, notebook and self-check "
                        "(e.g. zh_CN; default: as the locale variables ask, else English)")
    r.set_defaults(run=cmd_release)
    w = verbs.add_parser("watch", help="grade your folder or notebook, then re-grade what you change on every save")
    w.add_argument("target", nargs="?", default="assignments", help="folder or .ipynb (default: assignments)")
    w.add_argument("--data", default="embedded", help="'embedded' (default) or a folder of MNIST IDX files")
    w.add_argument("--poll", type=float, default=0.3, help="seconds between looks at the files")
    w.add_argument("--lang", default=None, help="the language of the feedback (default: from the locale variables, else en)")
    w.set_defaults(run=cmd_watch)
    # lazy: the batch verbs (grade, check, sample-class, gradescope-bundle) load their modules when they run
    from .batch.commands import add_parsers as add_batch_parsers

    add_batch_parsers(verbs)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
