"""Benchmark: a similarity report of a 100-student cohort, from the queue to stored pairs.

    .venv/bin/python bench/similarity.py [--students 100] [--runs 5]

Uses a database `taller_bench_similarity` on the PostgreSQL of DATABASE_URL (dropped and
made again), the generated cohort of tests/similarity/cohort.py (12 independent
solutions of a tasks API, the rest disguised copies of them: renamed, reordered,
commented, merged) and the Dolos tool folder `make install` builds. Times, per run:

- the whole task, `similarity_run` (what the `heavy` worker does): load the files,
  start Node, tokenise, compare every pair, build the fragments of the pairs above the
  floor, store them;
- the engine alone (the Node process, fed and read), and Node starting Dolos on two
  tiny files (the fixed cost).

Writes bench/reports/similarity.md. Nothing here asserts timings.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "platform"))
sys.path.insert(0, str(REPO / "bench"))

from pipeline import prepare_database  # noqa: E402


def make_cohort(starter: dict[str, str], reference: dict[str, str]) -> tuple[Any, Any]:
    """A course with one exercise (the starter and reference given) and a cohort."""
    from datetime import date, timedelta

    from taller.cohorts.models import Cohort
    from taller.courses.models import Course, Exercise, GraderVersion, Section

    course = Course.objects.create(slug="bench", title_es="Banco de pruebas")
    section = Section.objects.create(course=course, number=1, slug="uno", title_es="Uno")
    exercise = Exercise.objects.create(slug="tareas", section=section, title_es="Tareas")
    exercise.current_version = GraderVersion.objects.create(
        exercise=exercise,
        number=1,
        content_hash="0" * 64,
        manifest={"run": {"entry": ["server.js"]}},
        statement_es="Una API de tareas.",
        starter_files=starter,
        solution_files=reference,
    )
    exercise.save(update_fields=["current_version"])
    cohort = Cohort.objects.create(
        name="Banco", course=course, starts_on=date.today(), ends_on=date.today() + timedelta(60)
    )
    return cohort, exercise


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--report", default=str(REPO / "bench/reports/similarity.md"))
    args = parser.parse_args()

    admin_url = os.environ.get("DATABASE_URL", "postgres://taller:taller@127.0.0.1:5432/taller")
    os.environ["DATABASE_URL"] = prepare_database(admin_url, "taller_bench_similarity")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taller.settings.local")
    os.environ.pop("REDIS_URL", None)  # nothing here needs it
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from taller.accounts.models import User
    from taller.cohorts.models import Enrollment
    from taller.similarity import engine, selectors
    from taller.similarity.models import SimilarityReport
    from taller.similarity.services import similarity_run
    from taller.submissions.models import Submission
    from tests.similarity.cohort import generate
    from tests.similarity.solutions import REFERENCE, STARTER

    cohort, exercise = make_cohort(STARTER, REFERENCE)
    students = generate(args.students)
    for s in students:
        user = User.objects.create_user(username=s.username, password=None)
        Enrollment.objects.create(cohort=cohort, student=user)
        Submission.objects.create(
            student=user,
            exercise=exercise,
            cohort=cohort,
            grader_version=exercise.current_version,
            files=s.files,
            attempt=1,
            status="passed",
        )
    compared = selectors.compared_submissions(cohort, exercise)
    versions = selectors.template_versions(exercise, compared)
    lines = sum(t.count("\n") for s in students for t in s.files.values())

    whole, stored, kept = [], [], 0
    for n in range(args.runs):
        report = SimilarityReport.objects.create(
            cohort=cohort,
            exercise=exercise,
            inputs_key=f"bench-{n}",
            entries=[c.as_json() for c in compared],
            template_versions=versions,
        )
        started = time.monotonic()
        done = similarity_run(report.pk)
        whole.append(time.monotonic() - started)
        assert done is not None and done.state == "done", done and done.error_detail
        kept = done.pairs.count()
        stored.append(kept)
        print(f"run {n + 1}: {whole[-1]:.2f} s, {kept} pairs kept", flush=True)

    entries = [engine.Entry(str(i), s.files) for i, s in enumerate(students)]
    template = selectors.template_files(versions)
    options = {
        "tool_dir": settings.TALLER_SIMILARITY_DIR,
        "floor": settings.TALLER_SIMILARITY_FLOOR,
        "timeout": 600,
        "node": settings.TALLER_NODE,
    }
    engine_only, fixed = [], []
    for _ in range(args.runs):
        started = time.monotonic()
        analysis = engine.analyse(entries, template=template, **options)  # type: ignore[arg-type]
        engine_only.append(time.monotonic() - started)
        started = time.monotonic()
        engine.analyse(entries[:2], template={}, **options)  # type: ignore[arg-type]
        fixed.append(time.monotonic() - started)
    copied = sum(
        1 for i, a in enumerate(students) for b in students[i + 1 :] if a.source == b.source
    )
    version = analysis.engine.get("version", "?")
    load = os.getloadavg()[0]

    def row(name: str, values: list[float]) -> str:
        return (
            f"| {name} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |"
        )

    n = len(students)
    text = f"""# Similarity report: a {n}-student cohort

Made by `bench/similarity.py --students {n} --runs {args.runs}` on
{time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}, on this machine ({os.cpu_count()} CPUs,
shared; load average {load:.2f} at the end). Dolos {version}
(`tools/similarity`), k-grams of {analysis.engine.get("options", {}).get("kgramLength")} tokens.

The cohort: {n} students' latest submissions to a tasks REST API ({lines} lines in all,
one to three files each): the 12 independent solutions of `tests/similarity/solutions.py`
and {n - 12} disguised copies of them (renamed identifiers, moved functions, added
comments, files merged), so {copied} of the {n * (n - 1) // 2} pairs are copies: many more
than a real cohort has, and each kept pair's fragments are built and stored, so this is
the expensive case. The starter and the reference solution are the ignored template.
{kept} pairs are at or above the floor ({settings.TALLER_SIMILARITY_FLOOR}) and kept.

Seconds, {args.runs} runs:

| what | median | min | max |
|---|---:|---:|---:|
{row("the task (`similarity_run`: files loaded, Node, every pair compared, fragments, pairs stored)", whole)}
{row("the engine alone (the Node process fed and read)", engine_only)}
{row("Node starting Dolos on two tiny files (the fixed cost)", fixed)}

Target: under 30 s. The analysis runs on the `heavy` queue, never in a web process.
"""
    Path(args.report).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
