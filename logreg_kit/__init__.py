"""logreg-kit: exercises, reference solutions and an autograder for logistic regression on MNIST."""

__version__ = "0.1.0"
