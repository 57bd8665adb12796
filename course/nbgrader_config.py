"""nbgrader configuration of the logreg-kit course. Run every nbgrader command from this folder."""
from logreg_kit.nbgrader_plugin import configure

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file
c.CourseDirectory.course_id = "logreg"
configure(c)  # no kernel: logreg-kit grades the solution cells in its sandbox instead of nbgrader's Execute
