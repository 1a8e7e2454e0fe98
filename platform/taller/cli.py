"""`taller`: the platform from a terminal.

    taller login [--url URL] [--username NAME] [--password-stdin]
    taller exercises [--lang es|en]
    taller submit SLUG PATH [--no-follow] [--timeout SECONDS] [--lang es|en]
    taller whoami | taller logout

A client of the REST API and of the live WebSocket; it never imports Django. Tokens are
kept in ~/.config/taller/credentials.json (0600); the access token is refreshed when it
expires (the refresh token rotates, so the new one is saved each time).

Exit status: 0 when everything asked for worked (for `submit`, only if every test
passed), 1 when it did not (failed tests, refused submission, server or network
trouble), 2 for usage errors (bad arguments, unreadable PATH, not signed in).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import getpass
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
API = "/api/v1"
# Refresh a little before the access token expires, not after a request fails with it.
EXPIRY_MARGIN_SECONDS = 30
SKIPPED_DIRS = {"node_modules", ".git", "__pycache__"}
OK, FAILED, USAGE = 0, 1, 2
# A run's reasons (docs/results.md) in English; in Spanish the document's `output` says
# them. A reason not here is shown as `output`.
REASONS_EN = {
    "platform-failed": "The grading platform failed. It is not your fault: the submission "
    "is graded again and costs you no attempt.",
    "worker-lost": "The grading process stopped twice with this submission. It is not your "
    "fault and costs you no attempt; the teaching staff can see it.",
}


class CliError(Exception):
    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.code = code


def config_dir() -> Path:
    if os.environ.get("TALLER_CONFIG_DIR"):
        return Path(os.environ["TALLER_CONFIG_DIR"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "taller"


@dataclass
class Credentials:
    url: str
    username: str
    access: str
    refresh: str

    @classmethod
    def load(cls) -> Credentials:
        path = config_dir() / "credentials.json"
        try:
            data = json.loads(path.read_text())
            return cls(data["url"], data["username"], data["access"], data["refresh"])
        except (OSError, ValueError, KeyError, TypeError):
            raise CliError("No has iniciado sesión: ejecuta `taller login`.", USAGE) from None

    def save(self) -> None:
        folder = config_dir()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / "credentials.json"
        # Created 0600 from the start: the tokens are as good as the password for a while.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(self.__dict__, out, indent=2)
        path.chmod(0o600)

    @staticmethod
    def forget() -> None:
        (config_dir() / "credentials.json").unlink(missing_ok=True)


def token_expires_at(token: str) -> float:
    """The `exp` claim, read without verifying (the server verifies; we only plan ahead)."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        return float(json.loads(base64.urlsafe_b64decode(payload))["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return 0.0


def _detail(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(data, dict):
        if "detail" in data:
            return str(data["detail"])
        return "; ".join(f"{k}: {v}" for k, v in data.items())
    return str(data)


class Client:
    """The API with the saved tokens, refreshing the access token as needed."""

    def __init__(self, credentials: Credentials, timeout: float = 30) -> None:
        self.credentials = credentials
        self.http = httpx.Client(base_url=credentials.url, timeout=timeout)

    def refresh(self) -> None:
        response = self.http.post(
            f"{API}/auth/token/refresh/", json={"refresh": self.credentials.refresh}
        )
        if response.status_code != 200:
            raise CliError("La sesión caducó: vuelve a ejecutar `taller login`.", USAGE)
        tokens = response.json()
        self.credentials.access = tokens["access"]
        # Rotation: the old refresh token is now blacklisted; keep the new one.
        self.credentials.refresh = tokens.get("refresh", self.credentials.refresh)
        self.credentials.save()

    def access_token(self) -> str:
        if token_expires_at(self.credentials.access) - EXPIRY_MARGIN_SECONDS < time.time():
            self.refresh()
        return self.credentials.access

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        def send() -> httpx.Response:
            headers = {"Authorization": f"Bearer {self.access_token()}"}
            return self.http.request(method, f"{API}{path}", headers=headers, **kwargs)

        try:
            response = send()
            if response.status_code == 401:
                self.refresh()
                response = send()
        except httpx.HTTPError as exc:
            raise CliError(f"No se pudo conectar con {self.credentials.url}: {exc}") from exc
        if response.status_code == 401:
            raise CliError("La sesión caducó: vuelve a ejecutar `taller login`.", USAGE)
        return response


# --- commands ---------------------------------------------------------------------------


def cmd_login(args: argparse.Namespace) -> int:
    url = (args.url or os.environ.get("TALLER_URL") or _saved_url() or DEFAULT_URL).rstrip("/")
    username = args.username or input("Usuario: ").strip()
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Contraseña: ")
    if not username or not password:
        raise CliError("Hacen falta usuario y contraseña.", USAGE)
    try:
        response = httpx.post(
            f"{url}{API}/auth/token/",
            json={"username": username, "password": password},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        raise CliError(f"No se pudo conectar con {url}: {exc}") from exc
    if response.status_code != 200:
        raise CliError(f"No se pudo iniciar sesión: {_detail(response)}")
    tokens = response.json()
    Credentials(url, username, tokens["access"], tokens["refresh"]).save()
    print(f"Sesión iniciada como {username} en {url}.")
    return OK


def _saved_url() -> str | None:
    try:
        return Credentials.load().url
    except CliError:
        return None


def cmd_logout(args: argparse.Namespace) -> int:
    credentials = Credentials.load()
    # The local tokens go anyway; if the server is unreachable the refresh token expires.
    with contextlib.suppress(httpx.HTTPError):
        httpx.post(
            f"{credentials.url}{API}/auth/logout/",
            json={"refresh": credentials.refresh},
            timeout=10,
        )
    Credentials.forget()
    print("Sesión cerrada.")
    return OK


def cmd_whoami(args: argparse.Namespace) -> int:
    client = Client(Credentials.load())
    response = client.request("GET", "/me/")
    if response.status_code != 200:
        raise CliError(_detail(response))
    me = response.json()
    print(f"{me['username']} ({', '.join(me['roles']) or 'sin rol'}) en {client.credentials.url}")
    return OK


def cmd_exercises(args: argparse.Namespace) -> int:
    client = Client(Credentials.load())
    params = {"lang": args.lang} if args.lang else {}
    response = client.request("GET", "/exercises/", params=params)
    if response.status_code != 200:
        raise CliError(_detail(response))
    rows = response.json()
    width = max((len(e["slug"]) for e in rows), default=4)
    for exercise in rows:
        section = exercise["section"]
        print(f"{exercise['slug']:<{width}}  {section['number']}. {exercise['title']}")
    if not rows:
        print("No hay ejercicios publicados.")
    return OK


def read_files(path: Path) -> dict[str, str]:
    """A folder's text files by relative POSIX path (dependencies and dotfiles left out),
    or one file by its name."""
    if path.is_file():
        candidates = [(path.name, path)]
    elif path.is_dir():
        candidates = []
        for file in sorted(path.rglob("*")):
            relative = file.relative_to(path)
            if not file.is_file() or any(
                part in SKIPPED_DIRS or part.startswith(".") for part in relative.parts
            ):
                continue
            candidates.append((relative.as_posix(), file))
    else:
        raise CliError(f"No existe {path}.", USAGE)
    files = {}
    for name, file in candidates:
        try:
            files[name] = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise CliError(f"{name} no es un archivo de texto UTF-8.", USAGE) from None
    if not files:
        raise CliError(f"No hay archivos que enviar en {path}.", USAGE)
    return files


def cmd_submit(args: argparse.Namespace) -> int:
    files = read_files(Path(args.path))
    client = Client(Credentials.load())
    response = client.request("POST", "/submissions/", json={"exercise": args.slug, "files": files})
    if response.status_code == 429:
        wait = response.headers.get("Retry-After", "?")
        raise CliError(f"{_detail(response)} (Retry-After: {wait} s)")
    if response.status_code != 202:
        raise CliError(f"Entrega rechazada: {_detail(response)}")
    submission = response.json()
    print(f"Entrega #{submission['attempt']} de {args.slug} recibida (id {submission['id']}).")
    if args.no_follow:
        return OK
    printer = Printer(args.lang or "es")
    try:
        results = follow_websocket(client, submission, printer, args.timeout)
    except (OSError, ImportError, CliError) as exc:
        # No WebSocket (a proxy that drops it, say): poll the submission instead.
        print(f"(sin conexión en vivo: {exc}; consultando el estado)", file=sys.stderr)
        results = follow_polling(client, submission, printer, args.timeout)
    return printer.verdict(results)


class Printer:
    """Prints each test once, as it finishes, then the verdict."""

    def __init__(self, lang: str = "es") -> None:
        self.seen: set[str] = set()
        self.queue_position: int | None = None
        self.lang = lang

    def name(self, test: dict[str, Any]) -> str:
        return str((self.lang == "en" and test.get("name_en")) or test["name"])

    def test(self, test: dict[str, Any]) -> None:
        if test["number"] in self.seen:
            return
        self.seen.add(test["number"])
        mark = "✓" if test["status"] == "passed" else "✗"
        score = f"{_num(test['score'])}/{_num(test['max_score'])}"
        print(f"  {mark} {test['number']:>3} {self.name(test)}  ({score})", flush=True)

    def queue(self, position: int | None) -> None:
        if position and position != self.queue_position:
            print(f"En la cola: posición {position}.", flush=True)
        self.queue_position = position

    def run_output(self, results: dict[str, Any]) -> str:
        """What the run says first, in the chosen language when its reason is known."""
        code = (results.get("reason") or {}).get("code")
        if self.lang == "en" and code in REASONS_EN:
            return REASONS_EN[code]
        return str(results.get("output") or "")

    def verdict(self, results: dict[str, Any]) -> int:
        for test in results.get("tests", []):
            self.test(test)
        failing = [t for t in results.get("tests", []) if t["status"] != "passed"]
        for test in failing:
            print(failure_text(test, self.name(test)))
        said = self.run_output(results)
        if said:
            print(f"\n{said.rstrip()}")
        print(
            f"\nResultado: {results['status']} — "
            f"{_num(results['score'])}/{_num(results['max_score'])} puntos, "
            f"{len(results.get('tests', [])) - len(failing)}/{len(results.get('tests', []))} "
            "pruebas superadas."
        )
        passed = results["status"] == "passed" and not failing and bool(results.get("tests"))
        return OK if passed else FAILED


def failure_text(test: dict[str, Any], name: str | None = None) -> str:
    """A failed test for the terminal: its check, its first exchange with the curl that
    repeats it, and what the program wrote meanwhile (a hidden test has none of these)."""
    lines = [f"\n--- {test['number']} {name or test['name']}"]
    if test.get("output"):
        lines.append(test["output"].rstrip())
    exchanges = test.get("exchanges") or []
    if exchanges:
        exchange = exchanges[0]
        request, response = exchange.get("request") or {}, exchange.get("response")
        if not request and exchange.get("description"):
            lines.append(f"  {exchange['description']}")
        if request:
            lines.append(f"  → {request.get('method', '')} {request.get('path', '')}")
            if request.get("body"):
                lines.append(f"    {_one_line(request['body'])}")
        if response is not None:
            kind = (response.get("headers") or {}).get("content-type", "")
            lines.append(f"  ← {response.get('status')}" + (f" ({kind})" if kind else ""))
            if response.get("body"):
                lines.append(f"    {_one_line(response['body'])}")
        elif request:
            lines.append("  ← sin respuesta")
        if exchange.get("curl"):
            lines.append("  Para repetirla con tu servidor en marcha:")
            lines.append(f"    {exchange['curl']}")
        if len(exchanges) > 1:
            more = len(exchanges) - 1
            lines.append(
                f"  (y {more} {'petición' if more == 1 else 'peticiones'} más: en la página)"
            )
    for label, key in (("salida", "stdout"), ("errores", "stderr")):
        if test.get(key):
            lines.append(f"  Tu programa escribió durante esta prueba ({label}):")
            lines.extend(f"    {line}" for line in test[key].rstrip().splitlines()[-20:])
    return "\n".join(lines)


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def follow_websocket(
    client: Client, submission: dict[str, Any], printer: Printer, timeout: float
) -> dict[str, Any]:
    from websockets.exceptions import InvalidStatus, WebSocketException
    from websockets.sync.client import connect
    from websockets.typing import Origin

    base = urlsplit(client.credentials.url)
    scheme = "wss" if base.scheme == "https" else "ws"
    uri = f"{scheme}://{base.netloc}{submission['ws_path']}"
    headers = {"Authorization": f"Bearer {client.access_token()}"}
    deadline = time.monotonic() + timeout
    try:
        with connect(
            uri,
            additional_headers=headers,
            # Channels checks the Origin against ALLOWED_HOSTS, as for a browser.
            origin=Origin(f"{base.scheme}://{base.netloc}"),
            open_timeout=15,
            proxy=None,
        ) as ws:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise CliError("Se acabó el tiempo de espera sin veredicto.")
                try:
                    message = json.loads(ws.recv(timeout=remaining))
                except TimeoutError:
                    continue
                results = handle_event(message, printer)
                if results is not None:
                    return results
    except InvalidStatus as exc:
        raise CliError(f"el servidor rechazó la conexión ({exc.response.status_code})") from exc
    except WebSocketException as exc:
        raise CliError(str(exc)) from exc


def handle_event(message: dict[str, Any], printer: Printer) -> dict[str, Any] | None:
    """Print what the event says; the results document once the verdict is in."""
    kind = message.get("type")
    if kind == "snapshot":
        printer.queue(message.get("queue_position"))
        for test in message.get("tests", []):
            printer.test(test)
        results: dict[str, Any] | None = message.get("results")
        return results
    if kind == "started":
        print("Calificando…", flush=True)
    elif kind == "collected":
        print(f"{len(message.get('tests', []))} pruebas.", flush=True)
    elif kind == "test":
        printer.test(message["test"])
    elif kind == "requeued":
        print("Error interno del corrector; se vuelve a calificar (no te cuesta un intento).")
    elif kind == "finished":
        return dict(message["results"])
    return None


def follow_polling(
    client: Client, submission: dict[str, Any], printer: Printer, timeout: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.request("GET", f"/submissions/{submission['id']}/")
        if response.status_code != 200:
            raise CliError(_detail(response))
        data = response.json()
        printer.queue(data.get("queue_position"))
        for test in data.get("tests", []):
            printer.test(test)
        if data.get("results") is not None:
            return dict(data["results"])
        time.sleep(1)
    raise CliError("Se acabó el tiempo de espera sin veredicto.")


# --- entry point ------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="taller", description="Taller desde la terminal.")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMANDO")

    login = commands.add_parser("login", help="iniciar sesión y guardar los tokens")
    login.add_argument("--url", help=f"dirección del sitio (por defecto {DEFAULT_URL})")
    login.add_argument("--username", help="usuario (si no, se pregunta)")
    login.add_argument(
        "--password-stdin", action="store_true", help="leer la contraseña de la entrada estándar"
    )
    login.set_defaults(run=cmd_login)

    commands.add_parser("logout", help="cerrar la sesión").set_defaults(run=cmd_logout)
    commands.add_parser("whoami", help="con qué cuenta").set_defaults(run=cmd_whoami)

    exercises = commands.add_parser("exercises", help="listar los ejercicios")
    exercises.add_argument("--lang", choices=["es", "en"])
    exercises.set_defaults(run=cmd_exercises)

    submit = commands.add_parser("submit", help="enviar una solución y ver el resultado")
    submit.add_argument("slug", metavar="SLUG", help="el ejercicio, p. ej. rest-api")
    submit.add_argument("path", metavar="PATH", help="una carpeta o un archivo")
    submit.add_argument("--no-follow", action="store_true", help="no esperar el resultado")
    submit.add_argument("--timeout", type=float, default=600, help="segundos (600)")
    submit.add_argument("--lang", choices=["es", "en"], help="idioma de los nombres de las pruebas")
    submit.set_defaults(run=cmd_submit)
    return root


def main(argv: list[str] | None = None) -> NoReturn:
    args = parser().parse_args(argv)  # exits 2 on usage errors
    try:
        code = args.run(args)
    except CliError as exc:
        print(f"taller: {exc}", file=sys.stderr)
        code = exc.code
    except KeyboardInterrupt:
        code = FAILED
    sys.exit(code)


if __name__ == "__main__":
    main()
