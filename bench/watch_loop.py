"""`logreg-kit watch` against a cold `pytest grader/` and `nbgrader validate`: now a part of
bench/student_loop.py.

    .venv/bin/python bench/watch_loop.py [--rounds 3]
is `bench/student_loop.py --parts notebook,watch` (see there; --nbgrader is accepted and implied).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from student_loop import main  # noqa: E402

if __name__ == "__main__":
    main(["--parts", "notebook,watch", *(a for a in sys.argv[1:] if a != "--nbgrader")])
