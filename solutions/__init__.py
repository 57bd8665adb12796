"""Reference solutions of the logistic-regression lesson (instructors only).

This package is the single source of truth: `assignments/` and the notebooks are
generated from it by `python -m logreg_kit build`. Student regions are fenced by
`### BEGIN SOLUTION` / `### END SOLUTION`.
"""
