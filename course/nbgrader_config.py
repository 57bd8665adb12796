"""nbgrader configuration of the logreg-kit course. Run every nbgrader command from this folder."""
from logreg_kit.nbgrader_plugin import configure

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file
c.CourseDirectory.course_id = "logreg"
configure(c)  # grade test cells with logreg-kit's checks outside the kernel; long execution timeout
