"""`logreg-kit` / `python -m logreg_kit`: the kit's command line, one subcommand per verb."""
import argparse
import sys

from . import build as build_module


def cmd_build(args: argparse.Namespace) -> int:
    """Regenerate assignments/ from solutions/ (or, with --check, only report stale files)."""
    if args.check:
        stale = build_module.stale_files()
        for name in stale:
            print(f"stale: assignments/{name} (run `python -m logreg_kit build`)")
        return 1 if stale else 0
    changed = build_module.build()
    print(f"assignments/: {len(changed)} file(s) written" + (f": {', '.join(changed)}" if changed else ""))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="logreg-kit", description=__doc__)
    verbs = top.add_subparsers(dest="verb", required=True)
    b = verbs.add_parser("build", help="generate the student files from solutions/")
    b.add_argument("--check", action="store_true", help="only report generated files that are stale; exit 1 if any")
    b.set_defaults(run=cmd_build)
    from .batch.commands import add_parsers as add_batch_parsers  # grade, check, sample-class, gradescope-bundle

    add_batch_parsers(verbs)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
