"""Batch grading for instructors: a class of submissions in, a gradebook and feedback reports out.

- `intake`: submissions (folders, .zip files, .ipynb notebooks) -> student id + folder to grade.
- `pool`: worker processes grading one submission at a time, with a per-submission time limit.
- `worker`: one grading process (forked, warm) and its sandbox template; `grading`: what it runs.
- `memo`: the reference's probe results memoised per process; `refcache`: kept on disk between runs.
- `outputs`: per-submission records, gradebook.csv, results.json, the pass-rate table.
- `html`: the per-student feedback report (one offline HTML file).
- `overview` (+ `overview_html`): class.json and class.html, the class's failures and mistakes grouped;
  `regions`: the code a student wrote; `similarity`: pairs of similar submissions (copydetect);
  `fingerprint`: what graded each check, for regrades; `insight`: the overview, regrade decisions, shards, merge.
- `sample`: a generated sample class; `bundle`: the Gradescope autograder zip.
"""
