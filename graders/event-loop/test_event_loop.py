"""Grader suite for `event-loop` (docs/exercises.md, section 1).

main.js runs under inject/traza.cjs (see manifest.toml), which writes to stderr, for
every line printed on stdout, the mechanism it was printed from (async_hooks resource
type; module evaluation for synchronous code). The suite checks the output on stdout
and the mechanism from those records, so printing the five lines synchronously earns
the order but not the mechanisms.

server.js is timed: /lento must wait without blocking, /fib must compute off the main
thread (GET /rapido answers while GET /fib?n=40 runs).
"""

from __future__ import annotations

import json
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from taller_grader.sdk.http import HttpClient, NoAnswer, Response
from taller_grader.sdk.plugin import Program

LINEAS = ["Inicio", "Fin", "nextTick", "microtarea", "Tarea asíncrona"]
MARCA = "[taller:traza] "
FIB = {1: 1, 2: 1, 3: 2, 10: 55, 20: 6765, 25: 75025, 30: 832040, 40: 102334155}

ORIGENES = {
    "síncrono": "código síncrono (el primer nivel de main.js)",
    "process.nextTick": "un callback de process.nextTick",
    "microtarea": "una microtarea (.then, await o queueMicrotask)",
    "setTimeout": "un callback de setTimeout",
    "setInterval": "un callback de setInterval",
    "setImmediate": "un callback de setImmediate",
    "otro": "otro contexto (por ejemplo un manejador de process.on('exit'))",
}


def normalizar(texto: str) -> str:
    return unicodedata.normalize("NFC", texto).rstrip()


class Ejecucion:
    """One run of main.js: its exit, its stdout lines and the tracing records."""

    def __init__(self, resultado: dict[str, Any]) -> None:
        self.exit: dict[str, Any] | None = resultado.get("exit")
        self.stdout: str = resultado.get("stdout", "")
        self.stderr: str = resultado.get("stderr", "")
        self.lineas = [normalizar(linea) for linea in self.stdout.splitlines()]
        while self.lineas and self.lineas[-1] == "":
            self.lineas.pop()
        self.registros: list[dict[str, Any]] = []
        for linea in self.stderr.splitlines():
            if linea.startswith(MARCA):
                try:
                    registro = json.loads(linea[len(MARCA) :])
                except ValueError:
                    continue
                if isinstance(registro, dict) and isinstance(registro.get("linea"), str):
                    registro["linea"] = normalizar(registro["linea"])
                    self.registros.append(registro)

    def salida(self) -> str:
        if not self.stdout.strip():
            return "(nada)"
        texto = self.stdout if len(self.stdout) <= 500 else self.stdout[:500] + "…"
        return "\n" + texto.rstrip()

    def origen_de(self, linea: str) -> dict[str, Any]:
        """The record of `linea`, or a failure that says why there is none."""
        assert linea in self.lineas, (
            f"main.js no imprimió la línea «{linea}». Su salida fue: {self.salida()}"
        )
        for registro in self.registros:
            if registro["linea"] == linea:
                return registro
        raise AssertionError(
            f"main.js imprimió «{linea}», pero no se pudo ver desde dónde: imprime con "
            "console.log (o process.stdout.write)."
        )


@pytest.fixture(scope="session")
def ejecucion(programs: dict[str, Program]) -> Ejecucion:
    return Ejecucion(programs["main"].run(timeout=10))


def describir_origen(registro: dict[str, Any]) -> str:
    origen = str(registro.get("origen"))
    texto = ORIGENES.get(origen, origen)
    if origen == "setTimeout" and registro.get("retardo") is not None:
        texto += f" con {registro['retardo']} ms de retardo"
    return texto


def exigir_origen(ejecucion: Ejecucion, linea: str, origen: str, como: str) -> None:
    registro = ejecucion.origen_de(linea)
    assert registro.get("origen") == origen, (
        f"main.js imprimió «{linea}» desde {describir_origen(registro)}; se esperaba que lo "
        f"imprimiera {como}."
    )


# main.js -------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_main_termina(ejecucion: Ejecucion) -> None:
    """main.js termina solo y sin errores
    en: main.js exits by itself, without errors
    """
    assert ejecucion.exit is not None, (
        "`node main.js` seguía en marcha a los 10 s y se detuvo: al terminar su trabajo el "
        "programa debe salir solo (¿queda un setInterval o un servidor abierto?)."
    )
    assert ejecucion.exit.get("code") == 0, (
        f"`node main.js` terminó con código {ejecucion.exit.get('code')} "
        f"(señal {ejecucion.exit.get('signal')}); se esperaba 0. Mira su salida de errores abajo."
    )


@pytest.mark.points(2)
def test_main_cinco_lineas_en_orden(ejecucion: Ejecucion) -> None:
    """main.js imprime exactamente las cinco líneas, en el orden del enunciado
    en: main.js prints exactly the five lines, in the statement's order
    """
    esperado = "\n".join(LINEAS)
    assert ejecucion.lineas == LINEAS, (
        f"Se esperaba que main.js imprimiera exactamente:\n{esperado}\n"
        f"y su salida fue: {ejecucion.salida()}"
    )


@pytest.mark.points(1)
def test_main_inicio_y_fin_sincronos(ejecucion: Ejecucion) -> None:
    """«Inicio» y «Fin» se imprimen desde código síncrono
    en: «Inicio» and «Fin» are printed from synchronous code
    """
    for linea in ("Inicio", "Fin"):
        exigir_origen(ejecucion, linea, "síncrono", "el código síncrono de main.js")


@pytest.mark.points(2)
def test_main_nexttick(ejecucion: Ejecucion) -> None:
    """«nextTick» se imprime desde un callback de process.nextTick
    en: «nextTick» is printed from a process.nextTick callback
    """
    exigir_origen(
        ejecucion, "nextTick", "process.nextTick", "el callback de process.nextTick(() => ...)"
    )


@pytest.mark.points(2)
def test_main_microtarea(ejecucion: Ejecucion) -> None:
    """«microtarea» se imprime desde una microtarea (promesa o queueMicrotask)
    en: «microtarea» is printed from a microtask (a promise or queueMicrotask)
    """
    exigir_origen(
        ejecucion,
        "microtarea",
        "microtarea",
        "una reacción de promesa (.then, después de un await) o queueMicrotask",
    )


@pytest.mark.points(1)
def test_main_settimeout(ejecucion: Ejecucion) -> None:
    """«Tarea asíncrona» se imprime desde un setTimeout(…, 0)
    en: «Tarea asíncrona» is printed from a setTimeout(…, 0)
    """
    exigir_origen(ejecucion, "Tarea asíncrona", "setTimeout", "el callback de setTimeout(…, 0)")
    registro = ejecucion.origen_de("Tarea asíncrona")
    retardo = registro.get("retardo")
    # Node turns setTimeout(f, 0) and setTimeout(f) into a 1 ms timer.
    assert retardo is None or retardo <= 1, (
        f"main.js imprimió «Tarea asíncrona» desde un setTimeout de {retardo} ms; el "
        "enunciado pide setTimeout(…, 0)."
    )


# server.js -----------------------------------------------------------------------------


def cuerpo_ok(respuesta: Response) -> None:
    cuerpo = respuesta.expect_json(200)
    assert isinstance(cuerpo, dict) and cuerpo.get("ok") is True, (
        f'{respuesta.describe()}: se esperaba el cuerpo {{"ok": true}}'
    )


def error_400(respuesta: Response) -> None:
    cuerpo = respuesta.expect_json(400)
    assert isinstance(cuerpo, dict) and isinstance(cuerpo.get("error"), str), (
        f'{respuesta.describe()}: se esperaba un cuerpo como {{"error": "..."}} que explique '
        "qué está mal"
    )


def pedir_fib(http: HttpClient, n: int, timeout: float = 10.0) -> Response:
    respuesta = http.get(f"/fib?n={n}", timeout=timeout)
    cuerpo = respuesta.expect_json(200)
    assert isinstance(cuerpo, dict), f"{respuesta.describe()}: se esperaba un objeto JSON"
    assert str(cuerpo.get("n")) == str(n), (
        f'{respuesta.describe()}: se esperaba "n": {n} en la respuesta'
    )
    assert cuerpo.get("resultado") == FIB[n] and not isinstance(cuerpo.get("resultado"), bool), (
        f'{respuesta.describe()}: se esperaba "resultado": {FIB[n]} (fib({n})), '
        f"llegó {cuerpo.get('resultado')!r}"
    )
    return respuesta


@pytest.mark.points(1)
def test_rapido(http: HttpClient) -> None:
    """GET /rapido responde 200 {"ok": true} al momento
    en: GET /rapido answers 200 {"ok": true} at once
    """
    respuesta = http.get("/rapido")
    cuerpo_ok(respuesta)
    assert respuesta.elapsed < 1.0, (
        f"{respuesta.describe()}: tardó {respuesta.elapsed:.2f} s; debe responder al momento"
    )


@pytest.mark.points(1)
def test_lento(http: HttpClient) -> None:
    """GET /lento responde 200 {"ok": true} después de un segundo
    en: GET /lento answers 200 {"ok": true} after one second
    """
    respuesta = http.get("/lento", timeout=10)
    cuerpo_ok(respuesta)
    assert 0.85 <= respuesta.elapsed <= 3.0, (
        f"{respuesta.describe()}: respondió en {respuesta.elapsed:.2f} s; se esperaba una "
        "espera de un segundo (setTimeout de 1000 ms)"
    )


@pytest.mark.points(3)
def test_lento_no_bloquea(http: HttpClient) -> None:
    """Diez GET /lento a la vez terminan en menos de 2,5 s: la espera no bloquea
    en: Ten GET /lento at once finish within 2.5 s: the wait does not block
    """
    inicio = time.monotonic()

    def una(_: int) -> tuple[Response | None, str, float]:
        try:
            respuesta = http.get("/lento", timeout=15)
        except NoAnswer as exc:
            return None, str(exc), time.monotonic() - inicio
        return respuesta, "", time.monotonic() - inicio

    with ThreadPoolExecutor(max_workers=10) as grupo:
        resultados = list(grupo.map(una, range(10)))
    total = max(fin for _, _, fin in resultados)
    for respuesta, error, _ in resultados:
        assert respuesta is not None, f"Diez GET /lento a la vez: una no tuvo respuesta: {error}"
        cuerpo_ok(respuesta)
    assert total <= 2.5, (
        f"Diez GET /lento enviadas a la vez tardaron {total:.1f} s en total; se esperaba "
        "menos de 2,5 s. Si cada una espera un segundo sin bloquear (setTimeout), las diez "
        "esperan a la vez; una espera activa (un bucle que mira la hora) las pone en fila."
    )


@pytest.mark.points(2)
def test_fib_valores(http: HttpClient) -> None:
    """GET /fib?n=N responde {"n": N, "resultado": fib(N)}
    en: GET /fib?n=N answers {"n": N, "resultado": fib(N)}
    """
    for n in (1, 10, 20):
        pedir_fib(http, n)


@pytest.mark.points(4)
def test_fib_fuera_del_hilo_principal(http: HttpClient) -> None:
    """Mientras GET /fib?n=40 calcula, GET /rapido responde en menos de 250 ms
    en: While GET /fib?n=40 computes, GET /rapido answers within 250 ms
    """
    fib: dict[str, Any] = {}
    inicio = time.monotonic()

    def calcular() -> None:
        try:
            fib["respuesta"] = pedir_fib(http, 40, timeout=40)
        except AssertionError as exc:
            fib["error"] = exc
        fib["fin"] = time.monotonic()

    hilo = threading.Thread(target=calcular, daemon=True)
    hilo.start()
    sondeos: list[tuple[float, float, Response]] = []  # (sent, answered, response)
    time.sleep(0.15)
    while hilo.is_alive() and time.monotonic() - inicio < 40:
        enviado = time.monotonic()
        respuesta = http.get("/rapido", timeout=40)
        sondeos.append((enviado - inicio, time.monotonic(), respuesta))
        time.sleep(0.1)
    hilo.join(45)
    if "error" in fib:
        raise fib["error"]
    assert "respuesta" in fib, "GET /fib?n=40 no respondió en 40 s"
    duracion = fib["fin"] - inicio
    assert sondeos, (
        f"GET /fib?n=40 respondió en {duracion:.3f} s: demasiado rápido para la definición "
        "recursiva que pide el enunciado (tarda alrededor de un segundo), así que no se "
        "pudo comprobar que el cálculo no bloquea. Usa fib(n) = fib(n-1) + fib(n-2)."
    )
    for enviado, contestado, respuesta in sondeos:
        cuerpo_ok(respuesta)
        # A probe slowed by a busy host ends long before fib does; a probe that waited for
        # a main-thread computation is answered right after fib's own answer.
        bloqueado = contestado >= fib["fin"] - 0.1
        assert respuesta.elapsed <= 0.25 or not bloqueado, (
            f"GET /rapido, enviada {enviado:.2f} s después de GET /fib?n=40, tardó "
            f"{respuesta.elapsed:.2f} s y solo respondió cuando fib(40) terminó: el cálculo "
            "bloquea el hilo principal. Hazlo en un worker (worker_threads) o en un proceso "
            "hijo (child_process)."
        )


@pytest.mark.points(1)
def test_fib_sin_n(http: HttpClient) -> None:
    """GET /fib sin n responde 400 con error
    en: GET /fib without n answers 400 with an error
    """
    error_400(http.get("/fib"))


@pytest.mark.points(2)
def test_fib_fuera_de_rango(http: HttpClient) -> None:
    """GET /fib con n fuera de 1..40 responde 400 con error
    en: GET /fib with n outside 1..40 answers 400 with an error
    """
    error_400(http.get("/fib?n=0"))
    error_400(http.get("/fib?n=41", timeout=10))


@pytest.mark.hidden
@pytest.mark.points(1)
def test_fib_limites(http: HttpClient) -> None:
    """GET /fib en los bordes: fib(2)=1 y n=-3 o n=100 son 400
    en: GET /fib at the edges: fib(2)=1, and n=-3 or n=100 are 400
    """
    pedir_fib(http, 2)
    error_400(http.get("/fib?n=-3"))
    error_400(http.get("/fib?n=100", timeout=10))


@pytest.mark.hidden
@pytest.mark.points(1)
def test_fib_otros_valores(http: HttpClient) -> None:
    """GET /fib calcula bien fib(3), fib(25) y fib(30)
    en: GET /fib computes fib(3), fib(25) and fib(30) right
    """
    for n in (3, 25, 30):
        pedir_fib(http, n)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_rapido_durante_lento(http: HttpClient) -> None:
    """GET /rapido responde al momento aunque haya un GET /lento esperando
    en: GET /rapido answers at once even while a GET /lento is waiting
    """
    # The /lento is left to finish on its own: only /rapido's time matters here.
    threading.Thread(target=lambda: http.get("/lento", timeout=10), daemon=True).start()
    time.sleep(0.2)
    respuesta = http.get("/rapido")
    cuerpo_ok(respuesta)
    assert respuesta.elapsed <= 0.5, (
        f"{respuesta.describe()}: con un GET /lento en espera tardó {respuesta.elapsed:.2f} s; "
        "la espera de /lento no debe bloquear al resto"
    )
