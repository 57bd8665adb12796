"""Cold `pytest grader/` start-up, before and after, side by side: now a part of bench/student_loop.py.

    .venv/bin/python bench/selfcheck_startup.py [--rounds 3] [--before REF]
is `bench/student_loop.py --parts cold` (see there).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from student_loop import main  # noqa: E402

if __name__ == "__main__":
    main(["--parts", "cold", *sys.argv[1:]])
