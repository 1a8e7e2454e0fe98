"""Grader suite for `middleware` (docs/exercises.md, section 7).

The server runs under inject/registro.cjs (see manifest.toml), which stamps every
response with X-Taller-Stdout-Bytes: how many bytes the server had written to stdout
when the response went out on the socket. A logger line that lies beyond that mark was
written after the response (res.on("finish"), a logger placed after the routes, ...).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import pytest

from taller_grader.sdk.http import HttpClient, Response
from taller_grader.sdk.plugin import Program

MARCA = "x-taller-stdout-bytes"
TRAZA = re.compile(
    r"\bat \S+ \(|\bat (?:file:|node:|/)|\.(?:c|m)?js:\d+|node_modules|\bstack\b", re.I
)


@dataclass
class Registrada:
    """A response and the stdout lines the server wrote while handling it."""

    respuesta: Response
    antes: list[str]  # written before the response went out
    despues: list[str]  # written afterwards (up to a short wait)
    marcada: bool  # the response carried the instrumentation's mark


def bytes_de_stdout(program: Program) -> bytes:
    return program.output()[0].encode("utf-8", "replace")


def pedir(program: Program, http: HttpClient, metodo: str, ruta: str, **kwargs: Any) -> Registrada:
    """Send one request and split the server's stdout around its answer."""
    # A fence: everything written before the fence's answer is not this request's. (The
    # runner reads the output through a pipe, so its length now may lag behind.)
    valla = http.get(f"/api/ping?taller-valla={secrets.token_hex(3)}").header(MARCA)
    inicio = int(valla) if valla and valla.isdigit() else len(bytes_de_stdout(program))
    respuesta = http.request(metodo, ruta, **kwargs)
    marca = respuesta.header(MARCA)
    hasta = int(marca) if marca and marca.isdigit() else None
    # The output reaches the runner through a pipe: wait until the mark is in.
    limite = time.monotonic() + 2.0
    salida = bytes_de_stdout(program)
    while hasta is not None and len(salida) < hasta and time.monotonic() < limite:
        time.sleep(0.02)
        salida = bytes_de_stdout(program)
    time.sleep(0.05)  # whatever is logged after the response shows up here
    salida = bytes_de_stdout(program)
    corte = max(inicio, min(hasta, len(salida))) if hasta is not None else len(salida)
    antes = salida[inicio:corte].decode("utf-8", "replace").splitlines()
    despues = salida[corte:].decode("utf-8", "replace").splitlines()
    return Registrada(respuesta, antes, despues, hasta is not None)


def es_linea_de(linea: str, metodo: str, ruta: str) -> bool:
    """`METHOD URL` as whitespace-separated words of the line (a timestamp may precede)."""
    return f" {metodo} {ruta} " in f" {' '.join(linea.split())} "


def exigir_registro(r: Registrada, metodo: str, ruta: str, que: str | None = None) -> None:
    """`que` describes the exchange when describe() would quote a huge body."""
    esperada = f"{metodo} {ruta}"
    que = que or r.respuesta.describe()
    antes = [linea for linea in r.antes if es_linea_de(linea, metodo, ruta)]
    despues = [linea for linea in r.despues if es_linea_de(linea, metodo, ruta)]
    assert antes or not despues, (
        f"{que}: el logger escribió «{esperada}» DESPUÉS de enviar la "
        "respuesta; tiene que escribirla antes, al pasar la petición por la cadena "
        "(un middleware con app.use antes de las rutas, que llama a next())."
    )
    assert antes, (
        f"{que}: el servidor no escribió en stdout la línea «{esperada}». "
        f"Escribió: {mostrar(r.antes + r.despues)}"
    )
    assert len(antes) + len(despues) == 1, (
        f"{que}: se esperaba UNA línea «{esperada}» y se escribieron "
        f"{len(antes) + len(despues)}: {mostrar(antes + despues)}"
    )


def mostrar(lineas: list[str]) -> str:
    if not lineas:
        return "(nada)"
    return " | ".join(lineas[:6]) + (" | …" if len(lineas) > 6 else "")


def json_de(respuesta: Response, status: int) -> dict[str, Any]:
    cuerpo = respuesta.expect_json(status)
    assert isinstance(cuerpo, dict), f"{respuesta.describe()}: se esperaba un objeto JSON"
    return cuerpo


def con_error(respuesta: Response, status: int, mensaje: str | None = None) -> None:
    cuerpo = json_de(respuesta, status)
    if mensaje is None:
        assert isinstance(cuerpo.get("error"), str), (
            f'{respuesta.describe()}: se esperaba un cuerpo como {{"error": "..."}}'
        )
    else:
        assert cuerpo.get("error") == mensaje, (
            f'{respuesta.describe()}: se esperaba {{"error": "{mensaje}"}}'
        )


def request_id(respuesta: Response, que: str | None = None) -> str:
    valor = (respuesta.header("x-request-id") or "").strip()
    assert valor, f"{que or respuesta.describe()}: la respuesta no lleva la cabecera X-Request-Id"
    return valor


def contador(http: HttpClient) -> int:
    respuesta = http.get("/api/contador")
    cuerpo = json_de(respuesta, 200)
    valor = cuerpo.get("privado")
    assert isinstance(valor, int) and not isinstance(valor, bool), (
        f'{respuesta.describe()}: se esperaba {{"privado": N}} con N un número entero'
    )
    return valor


def clave_erronea(run_env: dict[str, str]) -> str:
    clave = run_env["API_KEY"]
    otra = secrets.token_urlsafe(len(clave))[: len(clave)]
    return otra if otra != clave else otra[::-1]


def cuerpo_de(tamano: int) -> bytes:
    """A JSON object of exactly `tamano` bytes."""
    vacio = len(json.dumps({"texto": ""}).encode())
    return json.dumps({"texto": "a" * (tamano - vacio)}).encode()


JSON = {"Content-Type": "application/json"}


# Logger --------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_ping(http: HttpClient) -> None:
    """GET /api/ping responde 200 {"pong": true}
    en: GET /api/ping answers 200 {"pong": true}
    """
    respuesta = http.get("/api/ping")
    assert json_de(respuesta, 200).get("pong") is True, (
        f'{respuesta.describe()}: se esperaba {{"pong": true}}'
    )


@pytest.mark.points(3)
def test_logger_antes_de_responder(program: Program, http: HttpClient) -> None:
    """El logger escribe «GET /api/ping?x=1» en stdout antes de enviar la respuesta
    en: The logger writes «GET /api/ping?x=1» to stdout before sending the response
    """
    r = pedir(program, http, "GET", "/api/ping?x=1")
    r.respuesta.expect_status(200)
    exigir_registro(r, "GET", "/api/ping?x=1")


@pytest.mark.points(2)
def test_logger_una_linea_por_peticion_en_orden(program: Program, http: HttpClient) -> None:
    """El logger escribe una línea por petición, en el orden de las peticiones
    en: The logger writes one line per request, in the requests' order
    """
    # Each line must fall between the previous answer and its own: that is the order.
    marca = secrets.token_hex(3)
    peticiones = [
        ("GET", f"/api/ping?orden=1&m={marca}"),
        ("GET", f"/api/contador?m={marca}"),
        ("GET", f"/api/ping?orden=2&m={marca}"),
        ("POST", "/api/eco"),
        ("GET", f"/api/ping?orden=3&m={marca}"),
    ]
    for metodo, ruta in peticiones:
        kwargs: dict[str, Any] = {"data": b'{"a": 1}', "headers": JSON} if metodo == "POST" else {}
        r = pedir(program, http, metodo, ruta, **kwargs)
        exigir_registro(r, metodo, ruta)


# X-Request-Id ---------------------------------------------------------------------------


@pytest.mark.points(2)
def test_request_id_nuevo_y_unico(http: HttpClient) -> None:
    """Cada respuesta lleva un X-Request-Id nuevo y distinto
    en: Every response carries a new, distinct X-Request-Id
    """
    ids = [request_id(http.get("/api/ping")) for _ in range(5)]
    assert len(set(ids)) == len(ids), (
        f"Cinco GET /api/ping sin X-Request-Id recibieron estos X-Request-Id: {ids}; "
        "tienen que ser todos distintos"
    )


@pytest.mark.points(2)
def test_request_id_del_cliente(http: HttpClient) -> None:
    """Si la petición trae X-Request-Id, la respuesta lleva ese mismo valor
    en: If the request brings an X-Request-Id, the response carries that same value
    """
    propio = f"prueba-{secrets.token_hex(4)}"
    respuesta = http.get("/api/ping", headers={"X-Request-Id": propio})
    recibido = request_id(respuesta)
    assert recibido == propio, (
        f"GET /api/ping con X-Request-Id: {propio} → la respuesta lleva X-Request-Id: "
        f"{recibido}; se esperaba el mismo valor que envió el cliente"
    )


@pytest.mark.points(2)
def test_request_id_en_errores(http: HttpClient) -> None:
    """Los errores (401, 404, 500) también llevan X-Request-Id
    en: Errors (401, 404, 500) carry an X-Request-Id too
    """
    for respuesta, status in (
        (http.get("/api/privado"), 401),
        (http.get("/api/no-existe"), 404),
        (http.get("/pagina/que/no/existe"), 404),
        (http.get("/api/error"), 500),
    ):
        respuesta.expect_status(status)
        request_id(respuesta)
    propio = f"error-{secrets.token_hex(4)}"
    respuesta = http.get("/ruta-desconocida", headers={"X-Request-Id": propio})
    assert respuesta.header("x-request-id") == propio, (
        f"GET /ruta-desconocida con X-Request-Id: {propio} → {respuesta.status} con "
        f"X-Request-Id: {respuesta.header('x-request-id')!r}; se esperaba {propio}"
    )


# API key --------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_privado_con_clave(http: HttpClient, run_env: dict[str, str]) -> None:
    """GET /api/privado con la X-Api-Key correcta responde 200
    en: GET /api/privado with the right X-Api-Key answers 200
    """
    http.get("/api/privado", headers={"X-Api-Key": run_env["API_KEY"]}).expect_status(200)


@pytest.mark.points(2)
def test_privado_sin_clave(http: HttpClient, run_env: dict[str, str]) -> None:
    """GET /api/privado sin X-Api-Key o con una incorrecta responde 401 con error
    en: GET /api/privado without an X-Api-Key, or with a wrong one, answers 401 with an error
    """
    con_error(http.get("/api/privado"), 401)
    con_error(http.get("/api/privado", headers={"X-Api-Key": clave_erronea(run_env)}), 401)


@pytest.mark.points(3)
def test_privado_controlador_no_se_ejecuta(http: HttpClient, run_env: dict[str, str]) -> None:
    """Sin la clave, el controlador de /api/privado no se ejecuta (GET /api/contador)
    en: Without the key, the /api/privado handler does not run (GET /api/contador)
    """
    antes = contador(http)
    http.get("/api/privado").expect_status(401)
    http.get("/api/privado", headers={"X-Api-Key": clave_erronea(run_env)}).expect_status(401)
    despues = contador(http)
    assert despues == antes, (
        f"GET /api/contador pasó de {antes} a {despues} tras dos GET /api/privado rechazados "
        "con 401: el controlador se ejecutó igualmente. Comprueba la clave en un middleware "
        "ANTES del controlador y no llames a next() si falla."
    )
    http.get("/api/privado", headers={"X-Api-Key": run_env["API_KEY"]}).expect_status(200)
    final = contador(http)
    assert final == antes + 1, (
        f"GET /api/contador pasó de {antes} a {final} tras un GET /api/privado con la clave "
        "correcta; se esperaba que subiera en 1"
    )


# Errors ---------------------------------------------------------------------------------


@pytest.mark.points(2)
def test_error_500(http: HttpClient) -> None:
    """GET /api/error responde 500 {"error": "Error interno"} desde el middleware de errores
    en: GET /api/error answers 500 {"error": "Error interno"} from the error middleware
    """
    con_error(http.get("/api/error"), 500, "Error interno")


@pytest.mark.points(2)
def test_error_sin_traza(http: HttpClient) -> None:
    """La respuesta de GET /api/error no incluye la traza (stack) del error
    en: The response of GET /api/error does not include the error's stack trace
    """
    respuesta = http.get("/api/error")
    encontrado = TRAZA.search(respuesta.text)
    assert encontrado is None, (
        f"{respuesta.describe()}: la respuesta muestra la traza del error "
        f"(«{encontrado.group(0) if encontrado else ''}»); el cliente solo debe ver "
        '{"error": "Error interno"}. Registra la traza en el servidor (console.error).'
    )


@pytest.mark.points(1)
def test_sigue_tras_error(http: HttpClient) -> None:
    """Tras un error el servidor sigue respondiendo
    en: After an error the server keeps answering
    """
    for _ in range(3):
        http.get("/api/error").expect_status(500)
    test_ping(http)


@pytest.mark.points(1)
def test_ruta_desconocida(http: HttpClient) -> None:
    """Una ruta desconocida responde 404 {"error": "No encontrado"}
    en: An unknown route answers 404 {"error": "No encontrado"}
    """
    con_error(http.get("/api/no-existe"), 404, "No encontrado")
    con_error(http.post("/otra/ruta", json={"a": 1}), 404, "No encontrado")


# Body limit -----------------------------------------------------------------------------


@pytest.mark.points(1)
def test_eco(http: HttpClient) -> None:
    """POST /api/eco devuelve el JSON recibido con 200
    en: POST /api/eco returns the JSON it received with 200
    """
    enviado = {"mensaje": "hola", "numeros": [1, 2, 3], "anidado": {"ok": True}}
    respuesta = http.post("/api/eco", json=enviado)
    assert respuesta.expect_json(200) == enviado, (
        f"{respuesta.describe()}: se esperaba el mismo JSON que se envió"
    )


@pytest.mark.points(2)
def test_eco_413(http: HttpClient) -> None:
    """POST /api/eco con un JSON de más de 10 kB responde 413
    en: POST /api/eco with a JSON body over 10 kB answers 413
    """
    respuesta = http.post("/api/eco", data=cuerpo_de(12_000), headers=JSON)
    assert respuesta.status == 413, (
        f"POST /api/eco con un JSON de 12.000 bytes: se esperaba 413, llegó {respuesta.status} "
        f"{respuesta.preview()[:200]}. express.json() acepta hasta 100 kB por defecto: "
        'usa express.json({ limit: "10kb" }).'
    )


@pytest.mark.points(2)
def test_413_registrado_y_con_request_id(program: Program, http: HttpClient) -> None:
    """El 413 de un cuerpo demasiado grande se registra en el logger y lleva X-Request-Id
    en: The 413 of a body too large is logged by the logger and carries X-Request-Id
    """
    ruta = "/api/eco"
    r = pedir(program, http, "POST", ruta, data=cuerpo_de(12_000), headers=JSON)
    que = f"POST /api/eco con un JSON de 12.000 bytes → {r.respuesta.status}"
    assert r.respuesta.status == 413, f"{que}: se esperaba 413"
    request_id(r.respuesta, que)
    exigir_registro(r, "POST", ruta, que)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_eco_8000(http: HttpClient) -> None:
    """POST /api/eco con un JSON de 8000 bytes responde 200 con el mismo JSON
    en: POST /api/eco with a JSON body of 8000 bytes answers 200 with the same JSON
    """
    cuerpo = cuerpo_de(8000)
    respuesta = http.post("/api/eco", data=cuerpo, headers=JSON)
    assert respuesta.status == 200, (
        f"POST /api/eco con un JSON de 8000 bytes → {respuesta.status} "
        f"{respuesta.preview()[:200]}: se esperaba 200 (el límite es de 10 kB)"
    )
    assert respuesta.json() == json.loads(cuerpo), (
        f"POST /api/eco con un JSON de 8000 bytes → {respuesta.status}: se esperaba 200 y el "
        "mismo JSON"
    )


@pytest.mark.hidden
@pytest.mark.points(1)
def test_eco_10241(http: HttpClient) -> None:
    """POST /api/eco con un JSON de 10.241 bytes responde 413
    en: POST /api/eco with a JSON body of 10,241 bytes answers 413
    """
    respuesta = http.post("/api/eco", data=cuerpo_de(10_241), headers=JSON)
    assert respuesta.status == 413, (
        f"POST /api/eco con un JSON de 10.241 bytes (más de 10 kB): se esperaba 413, llegó "
        f"{respuesta.status}"
    )


@pytest.mark.hidden
@pytest.mark.points(1)
def test_request_id_en_413_propio(http: HttpClient) -> None:
    """Un 413 devuelve el X-Request-Id que envió el cliente
    en: A 413 returns the X-Request-Id the client sent
    """
    propio = f"grande-{secrets.token_hex(4)}"
    respuesta = http.post(
        "/api/eco", data=cuerpo_de(12_000), headers={**JSON, "X-Request-Id": propio}
    )
    assert respuesta.status == 413, (
        f"POST /api/eco con un JSON de 12.000 bytes → {respuesta.status}: se esperaba 413"
    )
    assert respuesta.header("x-request-id") == propio, (
        f"POST /api/eco (12.000 bytes) con X-Request-Id: {propio} → 413 con X-Request-Id: "
        f"{respuesta.header('x-request-id')!r}; se esperaba {propio}"
    )


@pytest.mark.hidden
@pytest.mark.points(1)
def test_logger_registra_errores_y_401(program: Program, http: HttpClient) -> None:
    """El logger registra también las peticiones que acaban en 401 o 500
    en: The logger also logs the requests that end in 401 or 500
    """
    for ruta, status in (("/api/privado", 401), ("/api/error", 500)):
        r = pedir(program, http, "GET", ruta)
        r.respuesta.expect_status(status)
        exigir_registro(r, "GET", ruta)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_clave_casi_correcta(http: HttpClient, run_env: dict[str, str]) -> None:
    """Una X-Api-Key que solo es un prefijo de la correcta responde 401
    en: An X-Api-Key that is only a prefix of the right one answers 401
    """
    clave = run_env["API_KEY"]
    antes = contador(http)
    con_error(http.get("/api/privado", headers={"X-Api-Key": clave[:-1]}), 401)
    con_error(http.get("/api/privado", headers={"X-Api-Key": clave + "x"}), 401)
    assert contador(http) == antes, (
        "el controlador de /api/privado se ejecutó sin la clave correcta"
    )
