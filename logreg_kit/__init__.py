"""logreg-kit: exercises, reference solutions and an autograder for logistic regression on MNIST.

The modules stand on floors that import downward only, with no circle: declarations and data at the
bottom, then the one intake, probes and the wire format, the backends and the factory choosing
between them, the checks, the harness, and the front ends on top. The map is docs/architecture.md;
tests/test_architecture.py holds the code to it.
"""

__version__ = "0.1.0"
