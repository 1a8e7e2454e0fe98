"""Grader suite for `cluster` (docs/exercises.md, section 8).

Real processes and real signals: the suite lists the live processes of the student's
program (`program.processes()`, pids as the program sees them; the lowest is the
primary, the process the platform started), kills a worker through `GET /caer` and
watches the primary replace it, and sends SIGTERM to the primary while a request is in
flight. Every request opens a fresh connection, so a balancer that is not balancing
shows.

The order matters: the shutdown tests end the server, and the last (hidden) test starts
the same code again with WORKERS=1.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from taller_grader.sdk.http import HttpClient, NoAnswer, Response

PETICIONES = 40


# Helpers -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def esperados(run_env: dict[str, str]) -> int:
    return int(run_env.get("WORKERS", "3"))


def describir(respuesta: Response) -> str:
    peticion = respuesta.request
    return f"{peticion.method} {peticion.path} → {respuesta.status} {respuesta.preview()}"


def pid_de(respuesta: Response) -> int:
    """The pid a worker reports; fails in Spanish if the answer is not {"pid": n}."""
    if respuesta.status != 200:
        raise AssertionError(f'{describir(respuesta)}: se esperaba 200 con {{"pid": ...}}')
    if respuesta.content_type != "application/json":
        raise AssertionError(
            f"{describir(respuesta)}: se esperaba JSON (Content-Type: application/json) y "
            f"llegó Content-Type {respuesta.content_type or '(ninguno)'!r}"
        )
    try:
        cuerpo = json.loads(respuesta.body)
    except ValueError:
        raise AssertionError(f"{describir(respuesta)}: el cuerpo no es JSON válido") from None
    pid = cuerpo.get("pid") if isinstance(cuerpo, dict) else None
    if isinstance(pid, bool) or not isinstance(pid, int):
        raise AssertionError(
            f'{describir(respuesta)}: se esperaba {{"pid": process.pid}} con un número'
        )
    return pid


def primario_y_workers(program: Any) -> tuple[int | None, list[int]]:
    """The primary (the lowest live pid: the process the platform started) and the rest."""
    vivos = program.processes()
    if not vivos:
        return None, []
    return vivos[0], vivos[1:]


def workers_estables(program: Any, limite: float = 5.0, objetivo: int | None = None) -> list[int]:
    """The workers once their count stops changing (two equal readings 0.3 s apart).

    With `objetivo`, keep looking until that many are steady or `limite` runs out, so a
    primary that forks its workers one by one, slowly, is not judged half-way.
    """
    final = time.monotonic() + limite
    anterior = primario_y_workers(program)[1]
    while time.monotonic() < final:
        time.sleep(0.3)
        actual = primario_y_workers(program)[1]
        if len(actual) == len(anterior) and objetivo in (None, len(actual)):
            return actual
        anterior = actual
    return anterior


def pids_servidos(http: HttpClient, n: int = PETICIONES) -> list[int]:
    return [pid_de(http.get("/")) for _ in range(n)]


def caer_y_esperar(http: HttpClient, program: Any, esperados: int) -> dict[str, Any]:
    """GET /caer, then up to 3 s for a worker to be gone and the count to be back."""
    antes = set(primario_y_workers(program)[1])
    respuesta = http.get("/caer")
    inicio = time.monotonic()
    visto: dict[str, Any] = {"respuesta": respuesta, "antes": sorted(antes)}
    while time.monotonic() - inicio < 3.0:
        workers = set(primario_y_workers(program)[1])
        caidos, nuevos = antes - workers, workers - antes
        visto.update(despues=sorted(workers), caidos=sorted(caidos), nuevos=sorted(nuevos))
        if caidos and "murio_en" not in visto:
            visto["murio_en"] = time.monotonic() - inicio
        if caidos and nuevos and len(workers) == esperados:
            try:
                sirve = http.get("/", timeout=1.0).status == 200
            except NoAnswer:
                sirve = False
            if sirve:
                visto["repuesto_en"] = time.monotonic() - inicio
                return visto
        time.sleep(0.1)
    return visto


# Workers -------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_get_raiz_responde_pid(http: HttpClient) -> None:
    """GET / responde 200 con {"pid": ...} en JSON
    en: GET / answers 200 with {"pid": ...} in JSON
    """
    pid_de(http.get("/"))


@pytest.mark.points(2)
def test_arranca_workers_segun_workers(program: Any, esperados: int) -> None:
    """El primario arranca tantos workers como dice WORKERS (3)
    en: The primary starts as many workers as WORKERS says (3)
    """
    workers = workers_estables(program, objetivo=esperados)
    assert len(workers) == esperados, (
        f"WORKERS={esperados}: además del primario debería haber {esperados} procesos vivos "
        f"(los workers) y hay {len(workers)} (pids {workers}). Lee process.env.WORKERS para "
        "decidir cuántos cluster.fork() haces."
    )


@pytest.mark.points(3)
def test_reparte_entre_workers(http: HttpClient) -> None:
    """40 peticiones en conexiones nuevas llegan a al menos dos workers distintos
    en: 40 requests on new connections reach at least two different workers
    """
    pids = pids_servidos(http)
    distintos = sorted(set(pids))
    assert len(distintos) >= 2, (
        f"{PETICIONES} peticiones GET /, cada una en una conexión nueva: todas respondieron "
        f"con el mismo pid {distintos}. Se esperaban al menos dos pids distintos: ¿arrancas "
        "workers con cluster.fork() y escuchan ellos el puerto?"
    )


@pytest.mark.points(3)
def test_el_primario_no_atiende(http: HttpClient, program: Any) -> None:
    """Ninguna petición la atiende el primario: solo workers vivos
    en: The primary answers no request: only live workers do
    """
    pids = pids_servidos(http)
    primario, workers = primario_y_workers(program)
    assert primario not in pids, (
        f"{pids.count(primario)} de {PETICIONES} peticiones GET / las atendió el primario "
        f"(pid {primario}, el proceso que arrancó la plataforma). El primario solo reparte y "
        "vigila: el servidor HTTP va en los workers (cluster.isPrimary / cluster.isWorker)."
    )
    ajenos = sorted(set(pids) - set(workers))
    assert not ajenos, (
        f"GET / respondió con los pids {ajenos}, que no son de ningún worker vivo "
        f"(workers: {workers}). El pid debe ser process.pid del worker que responde."
    )


@pytest.mark.points(1)
def test_lento_tarda_un_segundo(http: HttpClient) -> None:
    """GET /lento responde 200 después de un segundo
    en: GET /lento answers 200 after one second
    """
    respuesta = http.get("/lento", timeout=5.0)
    assert respuesta.status == 200, f"{describir(respuesta)}: se esperaba 200"
    assert 0.9 <= respuesta.elapsed <= 3.0, (
        f"{describir(respuesta)}: respondió en {respuesta.elapsed:.2f} s; se esperaba "
        "alrededor de un segundo"
    )


# /caer ---------------------------------------------------------------------------------


@pytest.mark.points(2)
def test_caer_responde_y_el_worker_termina(http: HttpClient, program: Any, esperados: int) -> None:
    """GET /caer responde 200 y después ese worker termina
    en: GET /caer answers 200 and then that worker exits
    """
    visto = caer_y_esperar(http, program, esperados)
    respuesta: Response = visto["respuesta"]
    assert respuesta.status == 200, (
        f"{describir(respuesta)}: se esperaba 200 antes de que el worker termine. "
        "Responde primero y termina después (p. ej. process.exit(1) cuando la respuesta "
        "haya salido: res.on('finish', ...))."
    )
    assert "murio_en" in visto, (
        f"GET /caer respondió 200, pero en 3 s no terminó ningún worker (workers antes: "
        f"{visto['antes']}, después: {visto.get('despues')}). El worker que atiende /caer "
        "debe salir con process.exit(1)."
    )


@pytest.mark.points(3)
def test_caer_el_primario_repone_el_worker(http: HttpClient, program: Any, esperados: int) -> None:
    """Tras GET /caer, en 3 s hay otra vez WORKERS workers (el primario hace fork de nuevo)
    en: After GET /caer, within 3 s there are WORKERS workers again (the primary forks anew)
    """
    workers_estables(program, 3.0)
    visto = caer_y_esperar(http, program, esperados)
    if "repuesto_en" in visto:
        return
    if "murio_en" not in visto:
        raise AssertionError(
            f"GET /caer ({visto['respuesta'].status}): ningún worker terminó en 3 s "
            f"(workers: {visto.get('despues')}), así que no hay nada que reponer."
        )
    raise AssertionError(
        f"GET /caer: terminó el worker {visto['caidos']}, pero 3 s después hay "
        f"{len(visto['despues'])} workers (pids {visto['despues']}) y se esperaban "
        f"{esperados} y que GET / funcionara. Escucha cluster.on('exit', ...) en el "
        "primario y haz cluster.fork() para reponerlo."
    )


# SIGTERM -------------------------------------------------------------------------------


@dataclass
class Cierre:
    """What happened when the primary got SIGTERM with a GET /lento in flight."""

    lento: Response | None = None
    lento_error: str = ""
    lento_fin: float | None = None  # seconds after SIGTERM
    rechazo: float | None = None  # seconds after SIGTERM when a connect() was refused
    salida: dict[str, Any] | None = None
    salida_en: float | None = None
    vivos_tras_5s: list[int] = field(default_factory=list)


@pytest.fixture(scope="module")
def cierre(program: Any) -> Cierre:
    """Send SIGTERM to the primary while GET /lento is in flight; watch what follows."""
    visto = Cierre()
    workers_estables(program, 3.0)
    cliente = HttpClient(port=program.port or 3000, timeout=5.0)
    marca: dict[str, float] = {}

    def pedir_lento() -> None:
        try:
            visto.lento = cliente.get("/lento")
        except NoAnswer as exc:
            visto.lento_error = str(exc)
        marca["fin"] = time.monotonic()

    hilo = threading.Thread(target=pedir_lento, daemon=True)
    hilo.start()
    time.sleep(0.4)  # the request is in a worker's hands, its second not yet over
    enviado = time.monotonic()
    program.signal(signal.SIGTERM)
    # Probe while the request is in flight; if it was dropped, still look for a while.
    while time.monotonic() - enviado < 2.0 and (
        hilo.is_alive() or (visto.lento is None and time.monotonic() - enviado < 1.0)
    ):
        try:
            with socket.create_connection(("127.0.0.1", program.port or 3000), timeout=0.5):
                pass
        except ConnectionRefusedError:
            visto.rechazo = time.monotonic() - enviado
            break
        except OSError:
            pass
        time.sleep(0.05)
    hilo.join(timeout=6.0)
    if "fin" in marca:
        visto.lento_fin = marca["fin"] - enviado
    visto.salida = program.wait(max(0.1, 5.0 - (time.monotonic() - enviado)))
    visto.salida_en = time.monotonic() - enviado
    if visto.salida is None:
        visto.vivos_tras_5s = program.processes()
        program.stop(signal.SIGKILL, timeout=2.0)
    return visto


@pytest.mark.points(3)
def test_sigterm_la_peticion_en_curso_termina(cierre: Cierre) -> None:
    """SIGTERM: la petición que estaba en curso termina con 200
    en: SIGTERM: the request in progress finishes with 200
    """
    if cierre.lento is None:
        raise AssertionError(
            "Se pidió GET /lento y, 0,4 s después, se envió SIGTERM al primario: la petición "
            f"se perdió ({cierre.lento_error}). Un cierre ordenado deja terminar las "
            "peticiones en curso: worker.disconnect() o server.close() en los workers, no "
            "process.exit()."
        )
    assert cierre.lento.status == 200, (
        f"SIGTERM con GET /lento en curso: {describir(cierre.lento)}; se esperaba 200"
    )


@pytest.mark.points(2)
def test_sigterm_rechaza_conexiones_nuevas(cierre: Cierre) -> None:
    """SIGTERM: las conexiones nuevas se rechazan mientras termina lo que estaba en curso
    en: SIGTERM: new connections are refused while what was in progress finishes
    """
    if cierre.rechazo is not None:
        return
    if cierre.lento is None and (cierre.lento_fin or 0) <= 0:
        raise AssertionError(
            "No se pudo comprobar: GET /lento ya había fallado antes de enviar SIGTERM "
            f"({cierre.lento_error}). ¿Seguía vivo el servidor?"
        )
    raise AssertionError(
        "Tras enviar SIGTERM al primario, el puerto 3000 siguió aceptando conexiones "
        "nuevas mientras GET /lento estaba en curso (se probó cada 50 ms). Al recibir "
        "SIGTERM hay que dejar de escuchar enseguida: server.close() en cada worker (o "
        "worker.disconnect() desde el primario)."
    )


@pytest.mark.points(2)
def test_sigterm_todo_termina_en_5s(cierre: Cierre) -> None:
    """SIGTERM: el primario y todos los workers terminan en menos de 5 s
    en: SIGTERM: the primary and every worker exit within 5 s
    """
    assert cierre.salida is not None, (
        "Se envió SIGTERM al primario y 5 s después seguían vivos los procesos "
        f"{cierre.vivos_tras_5s}. Tras cerrar los servidores, los workers deben salir y el "
        "primario también; ojo con volver a hacer fork() de los workers que salen durante "
        "el cierre."
    )


# Hidden --------------------------------------------------------------------------------


@pytest.mark.hidden
@pytest.mark.points(2)
def test_oculto_con_workers_1(programs: dict[str, Any], cierre: Cierre) -> None:
    """Con WORKERS=1, el mismo código arranca un solo worker, que atiende
    en: With WORKERS=1, the same code starts a single worker, which answers
    """
    del cierre  # the first server must be gone: both listen on port 3000
    segundo = programs["un-worker"]
    segundo.start()
    try:
        workers = workers_estables(segundo, objetivo=1)
        assert len(workers) == 1, (
            f"Con WORKERS=1 debería haber 1 worker además del primario y hay {len(workers)} "
            f"(pids {workers})"
        )
        pids = set(pids_servidos(HttpClient(port=segundo.port or 3000), 10))
        assert pids == set(workers), (
            f"Con WORKERS=1, 10 peticiones GET / respondieron con los pids {sorted(pids)}; "
            f"se esperaba solo el del worker, {workers[0]}"
        )
    finally:
        segundo.stop(signal.SIGKILL, timeout=2.0)
