"""Your exercises for the logistic-regression lesson.

Fill in every `raise NotImplementedError(...)` in losses.py, softmax.py, logreg.py
and sgd.py, then run `pytest grader/` from the repository root to see your score.
"""
