"""All checks, in lesson order. Importing this package registers them in CHECKS."""
from . import losses, softmax, logreg, sgd, properties  # noqa: F401  (registration order = lesson order)
from .registry import CHECKS, SETTINGS, Check, Student, reference

__all__ = ["CHECKS", "SETTINGS", "Check", "Student", "reference"]
