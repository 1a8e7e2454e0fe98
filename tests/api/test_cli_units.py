"""The client's pieces that need no server: which files go, reading tokens, the verdict."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import jsonschema
import pytest

from taller.cli import CliError, Printer, handle_event, read_files, token_expires_at


def test_a_folder_sends_its_text_files_without_dependencies_or_dotfiles(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "server.js").write_text("a")
    (tmp_path / "lib" / "db.js").write_text("b")
    (tmp_path / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "node_modules" / "x" / "index.js").write_text("no")
    (tmp_path / ".env").write_text("SECRET=1")
    assert read_files(tmp_path) == {"server.js": "a", "lib/db.js": "b"}
    assert read_files(tmp_path / "lib" / "db.js") == {"db.js": "b"}


def test_unreadable_paths_are_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\xff\xfe")
    for path in (tmp_path / "no-existe", tmp_path / "logo.png"):
        with pytest.raises(CliError) as error:
            read_files(path)
        assert error.value.code == 2


def test_the_expiry_is_read_from_the_token() -> None:
    payload = base64.urlsafe_b64encode(json.dumps({"exp": 1234}).encode()).rstrip(b"=")
    assert token_expires_at(f"e30.{payload.decode()}.firma") == 1234
    assert token_expires_at("basura") == 0


def _test(number: str, status: str) -> dict[str, object]:
    return {"number": number, "name": f"prueba {number}", "score": 1, "max_score": 1,
            "status": status, "output": "", "visibility": "visible"}  # fmt: skip


def test_the_verdict_is_0_only_when_every_test_passed(capsys: pytest.CaptureFixture[str]) -> None:
    printer = Printer()
    assert handle_event({"type": "test", "test": _test("1", "passed")}, printer) is None
    assert handle_event({"type": "test", "test": _test("1", "passed")}, printer) is None
    results = {"status": "passed", "score": 2, "max_score": 2,
               "tests": [_test("1", "passed"), _test("2", "passed")]}  # fmt: skip
    assert handle_event({"type": "finished", "results": results}, printer) == results
    assert printer.verdict(results) == 0
    assert capsys.readouterr().out.count("✓") == 2  # each test printed once
    failed = {**results, "status": "failed", "tests": [_test("1", "passed"), _test("2", "failed")]}
    assert Printer().verdict(failed) == 1
    assert Printer().verdict({**results, "tests": []}) == 1


def test_a_failed_test_prints_its_check_first_exchange_curl_and_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    curl = 'curl -i http://127.0.0.1:3000/api/tareas --data-raw \'{"titulo": "x"}\''
    failed = {
        **_test("3", "failed"),
        "name_en": "test three",
        "output": "POST /api/tareas: se esperaba el estado 201 y llegó 404",
        "exchanges": [
            {
                "request": {"method": "POST", "path": "/api/tareas", "headers": {},
                            "body": '{"titulo": "x"}'},
                "response": {"status": 404, "headers": {"content-type": "text/html"},
                             "body": "<pre>Cannot POST /api/tareas</pre>", "time": 0.01},
                "curl": curl,
            },
            {"request": {"method": "GET", "path": "/api/tareas", "headers": {}, "body": ""},
             "response": None, "curl": "curl -i http://127.0.0.1:3000/api/tareas"},
        ],
        "stdout": "REQ POST /api/tareas\n",
    }  # fmt: skip
    results = {"status": "failed", "score": 0, "max_score": 1, "tests": [failed]}
    assert Printer("en").verdict(results) == 1
    out = capsys.readouterr().out
    assert "--- 3 test three" in out
    assert "se esperaba el estado 201 y llegó 404" in out
    assert "→ POST /api/tareas" in out and "← 404 (text/html)" in out
    assert f"    {curl}\n" in out
    assert "y 1 petición más" in out
    assert "REQ POST /api/tareas" in out


def test_a_run_followed_live_as_the_events_schema_describes_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """docs/events.examples.json (a student's messages for a run requeued once), each
    valid against the committed docs/events.schema.json, read as the client reads them."""
    docs = Path(__file__).resolve().parents[2] / "docs"
    schema = jsonschema.Draft202012Validator(json.loads((docs / "events.schema.json").read_text()))
    messages = json.loads((docs / "events.examples.json").read_text())["events"]
    printer = Printer("en")
    verdicts = []
    for message in messages:
        schema.validate(message)
        verdicts.append(handle_event(message, printer))
    assert verdicts[:-1] == [None] * (len(messages) - 1)  # the queued snapshot has no verdict
    results = verdicts[-1]
    assert results == messages[-1]["results"]
    assert printer.verdict(results) == 1
    out = capsys.readouterr().out
    assert "En la cola: posición 2." in out
    assert out.count("Calificando…") == 2 and out.count("3 pruebas.") == 2
    assert "se vuelve a calificar" in out
    # Each test once, in the reader's language; the hidden one by its placeholder name.
    assert out.count("✓   1 GET /api/saludo answers the example's greeting  (1/1)") == 1
    assert out.count("✗   2 POST /api/tareas creates a task") == 1
    assert out.count("✓   3 hidden test 3  (1/1)") == 1
    assert "← 404 (text/html; charset=utf-8)" in out and "curl -i http://127.0.0.1:3000" in out
    assert "Resultado: failed — 2/4 puntos, 2/3 pruebas superadas." in out


def test_a_runs_known_reason_is_printed_in_the_chosen_language(
    capsys: pytest.CaptureFixture[str],
) -> None:
    results = {"status": "internal-error", "score": 0, "max_score": 0, "tests": [],
               "output": "La plataforma de corrección falló. No es culpa tuya…",
               "reason": {"code": "platform-failed", "params": {}}}  # fmt: skip
    Printer("en").verdict(results)
    assert "The grading platform failed" in capsys.readouterr().out
    Printer("es").verdict(results)
    assert "La plataforma de corrección falló" in capsys.readouterr().out
    # A reason this client does not know: the document's own words.
    Printer("en").verdict({**results, "reason": {"code": "nuevo", "params": {}}})
    assert "La plataforma de corrección falló" in capsys.readouterr().out
