"""The similarity analysis: real Dolos in its own Node process, on a generated cohort."""

from __future__ import annotations

import time
from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from taller.cohorts.models import Cohort
from taller.similarity import selectors
from taller.similarity.models import SimilarityReport
from taller.similarity.services import similarity_run
from tests.similarity.cohort import Student, disguise
from tests.similarity.conftest import World
from tests.similarity.solutions import INDEPENDENT, REFERENCE, STARTER

pytestmark = pytest.mark.django_db

Analyse = Callable[..., SimilarityReport]


def scores(report: SimilarityReport, world: World) -> dict[frozenset[str], float]:
    """Similarity per pair of usernames; a pair Dolos found nothing in scores 0."""
    by_submission = {s.pk: name for name, s in world.submissions.items()}
    found = {
        frozenset((by_submission[p.left_id], by_submission[p.right_id])): p.similarity
        for p in report.pairs.all()
    }
    return {
        frozenset(pair): found.get(frozenset(pair), 0.0)
        for pair in combinations(world.submissions, 2)
    }


@override_settings(TALLER_SIMILARITY_FLOOR=0.0)
def test_copied_pairs_rank_above_every_independent_pair(
    world: World, generated: list[Student], analyse: Analyse
) -> None:
    report = analyse()
    assert report.state == SimilarityReport.State.DONE, report.error_detail
    assert len(report.entries) == 30
    source = {s.username: s.source for s in generated}
    copied, independent = {}, {}
    for pair, score in scores(report, world).items():
        a, b = sorted(pair)
        (copied if source[a] == source[b] else independent)[(a, b)] = score
    assert len(copied) == 33 and len(independent) == 402
    weakest_copy = min(copied.items(), key=lambda kv: kv[1])
    closest_independent = max(independent.items(), key=lambda kv: kv[1])
    assert weakest_copy[1] > closest_independent[1], (weakest_copy, closest_independent)
    # As the report ranks them: every copy first, at the page's default threshold too.
    ranked = list(report.pairs.order_by("-similarity"))
    by_submission = {s.pk: name for name, s in world.submissions.items()}
    top = [source[by_submission[p.left_id]] == source[by_submission[p.right_id]] for p in ranked]
    assert top[: len(copied)] == [True] * len(copied)
    shown = selectors.report_pairs(report, 0.5)
    assert {tuple(sorted((r.left.username, r.right.username))) for r in shown} == set(copied)


def test_a_copy_across_files_is_marked_on_the_lines_it_came_from(
    world: World, analyse: Analyse
) -> None:
    original = INDEPENDENT[2]  # app.js, routes/tasks.js, store.js
    world.submit("ana", original)
    world.submit("beto", disguise(dict(original), ("merge", "rename", "comment"), seed=7))
    world.submit("carla", INDEPENDENT[7])
    report = analyse()
    pair = report.pairs.get()
    assert {pair.left_id, pair.right_id} == {
        world.submissions["ana"].pk,
        world.submissions["beto"].pk,
    }
    assert pair.similarity > 0.7 and pair.longest_lines >= 5
    ana_side = "left" if pair.left_id == world.submissions["ana"].pk else "right"
    beto_side = "right" if ana_side == "left" else "left"
    ana_paths = {span["path"] for f in pair.fragments for span in f[ana_side]}
    assert ana_paths == {"app.js", "routes/tasks.js", "store.js"}
    assert {span["path"] for f in pair.fragments for span in f[beto_side]} == {"index.js"}
    # The marks point at real lines: the store's class body is marked on Ana's side.
    left, right = selectors.side_by_side(pair)
    ana_files = {f.path: f for f in (left if ana_side == "left" else right)}
    marked = [line.text for line in ana_files["store.js"].lines if line.fragments]
    assert any("this.#rows.push(row)" in text for text in marked)
    assert all(
        line.number <= len(original[f.path].splitlines())
        for f in ana_files.values()
        for line in f.lines
    )


def test_starter_and_reference_solution_are_left_out(world: World, analyse: Analyse) -> None:
    world.submit("ana", REFERENCE)
    world.submit("beto", {**REFERENCE, "notes.md": "hecho"})
    world.submit("carla", STARTER)
    world.submit("dani", INDEPENDENT[3])
    world.submit("eva", disguise(dict(INDEPENDENT[3]), ("rename",), seed=1))
    report = analyse()
    found = {
        frozenset((p.left.student.username, p.right.student.username)) for p in report.pairs.all()
    }
    # The solution handed out is everyone's: Ana and Beto share nothing else.
    assert frozenset(("ana", "beto")) not in found
    assert frozenset(("ana", "carla")) not in found
    assert frozenset(("dani", "eva")) in found
    assert report.template_versions == [world.exercise.current_version_id]


def test_the_report_is_kept_until_a_submission_changes(world: World, analyse: Analyse) -> None:
    world.submit("ana", INDEPENDENT[0])
    world.submit("beto", INDEPENDENT[1])
    first = analyse()
    assert first.state == SimilarityReport.State.DONE
    again = analyse()
    assert again.pk == first.pk
    assert SimilarityReport.objects.count() == 1
    key = selectors.current_inputs_key(world.cohort, world.exercise, include_earlier=False)
    assert key == first.inputs_key
    # Beto copies Ana: the report is stale, and the next request analyses again.
    newer = world.submit("beto", disguise(dict(INDEPENDENT[0]), ("rename", "reorder"), seed=3))
    key = selectors.current_inputs_key(world.cohort, world.exercise, include_earlier=False)
    assert key != first.inputs_key
    second = analyse()
    assert second.pk != first.pk and second.state == SimilarityReport.State.DONE
    assert newer.pk in {e["submission"] for e in second.entries}
    assert second.pairs.get().similarity > 0.8
    assert not first.pairs.exists()


def test_earlier_cohorts_are_compared_only_when_asked(
    world: World, earlier_cohort: Cohort, analyse: Analyse
) -> None:
    world.submit("antiguo", INDEPENDENT[4], cohort=earlier_cohort)
    world.submit(
        "antigua", disguise(dict(INDEPENDENT[4]), ("rename",), seed=2), cohort=earlier_cohort
    )
    world.submit("ana", disguise(dict(INDEPENDENT[4]), ("reorder", "comment"), seed=5))
    world.submit("beto", INDEPENDENT[8])
    alone = analyse()
    assert {e["student"] for e in alone.entries} == {
        world.students["ana"].pk,
        world.students["beto"].pk,
    }
    assert not alone.pairs.filter(similarity__gte=0.5).exists()
    together = analyse(include_earlier=True)
    assert together.pk != alone.pk
    pairs = {
        frozenset((p.left.student.username, p.right.student.username)): p
        for p in together.pairs.filter(similarity__gte=0.5)
    }
    # Ana against both earlier students; never the earlier students against each other.
    assert set(pairs) == {frozenset(("ana", "antiguo")), frozenset(("ana", "antigua"))}
    rows = selectors.report_pairs(together, 0.5)
    assert all(r.left.earlier != r.right.earlier for r in rows)
    assert {r.left.cohort_name if r.left.earlier else r.right.cohort_name for r in rows} == {
        earlier_cohort.name
    }


def test_clusters_group_the_students_who_share_code(
    world: World, generated: list[Student], analyse: Analyse
) -> None:
    report = analyse()
    groups = selectors.clusters(selectors.report_pairs(report, 0.5))
    expected: dict[int, set[str]] = {}
    for s in generated:
        expected.setdefault(s.source, set()).add(s.username)
    copied_groups = [names for names in expected.values() if len(names) > 1]
    found = [{m.username for m in g.members} for g in groups]
    assert sorted(map(sorted, found)) == sorted(map(sorted, copied_groups))
    # Biggest group first; each says how many pairs join it and how close they are.
    assert [len(g) for g in found] == sorted((len(g) for g in found), reverse=True)
    assert groups[0].pairs == 10 and groups[0].top >= groups[0].mean >= 0.5


def test_a_second_delivery_does_nothing(world: World, analyse: Analyse) -> None:
    world.submit("ana", INDEPENDENT[0])
    world.submit("beto", INDEPENDENT[0])
    report = analyse()
    finished = report.finished_at
    assert similarity_run(report.pk) is None
    report.refresh_from_db()
    assert report.finished_at == finished and report.pairs.count() == 1


def test_without_the_engine_the_report_fails_and_says_why(
    world: World, analyse: Analyse, tmp_path: Path, settings: Any
) -> None:
    installed = settings.TALLER_SIMILARITY_DIR
    settings.TALLER_SIMILARITY_DIR = tmp_path  # nothing built there
    world.submit("ana", INDEPENDENT[0])
    world.submit("beto", INDEPENDENT[1])
    report = analyse()
    assert report.state == SimilarityReport.State.FAILED
    assert report.error_code == "engine-missing"
    # A failed report is not a cached answer: asking again tries again.
    settings.TALLER_SIMILARITY_DIR = installed
    retried = analyse()
    assert retried.pk != report.pk and retried.state == SimilarityReport.State.DONE


@pytest.mark.django_db(transaction=True)
def test_the_embedded_server_analyses_in_its_own_pool(world: World, settings: Any) -> None:
    """Without Celery (`make run`'s default) the report is made off the request thread."""
    from taller.similarity.services import similarity_request

    settings.TALLER_GRADING = "inprocess"
    world.submit("ana", INDEPENDENT[11])
    world.submit("beto", disguise(dict(INDEPENDENT[11]), ("rename", "comment"), seed=9))
    report = similarity_request(cohort=world.cohort, exercise=world.exercise).report
    for _ in range(600):  # a bound on the wait, not on the speed
        report.refresh_from_db()
        if report.is_final:
            break
        time.sleep(0.1)
    assert report.state == SimilarityReport.State.DONE, report.error_detail
    assert report.pairs.get().similarity > 0.8
