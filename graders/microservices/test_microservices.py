"""Grader suite for `microservices` (docs/exercises.md, section 9).

Both services run in the same sandboxed network; the suite talks to each on its port,
stops `usuarios` (SIGSTOP: it accepts connections and never answers; then for real) to
check the 503, and consumes `pedidos.creados` from the run's own RabbitMQ vhost.
"""

from __future__ import annotations

import signal
import time
from typing import Any

import pytest

from taller_grader.sdk.http import HttpClient, Response

COLA = "pedidos.creados"


@pytest.fixture
def usuarios(http_to: Any) -> HttpClient:
    return http_to(3001)


@pytest.fixture
def pedidos(http_to: Any) -> HttpClient:
    return http_to(3002)


def error_json(respuesta: Response, estado: int) -> None:
    respuesta.expect_status(estado)
    cuerpo = respuesta.json()
    assert isinstance(cuerpo, dict) and isinstance(cuerpo.get("error"), str), (
        f'{respuesta.describe()}: se esperaba un cuerpo como {{"error": "..."}}'
    )


def pedir(pedidos: HttpClient, usuario_id: int = 1, producto: str = "Libro") -> dict[str, Any]:
    respuesta = pedidos.post("/pedidos", json={"usuarioId": usuario_id, "producto": producto})
    pedido = respuesta.expect_json(201)
    assert isinstance(pedido, dict) and "id" in pedido, (
        f"{respuesta.describe()}: se esperaba el pedido creado, con su id"
    )
    return pedido


@pytest.mark.points(2)
@pytest.mark.parametrize(("id_", "nombre"), [(1, "Ana"), (2, "Nico"), (3, "Lucía")])
def test_usuarios_fijos(usuarios: HttpClient, id_: int, nombre: str) -> None:
    """usuarios: GET /usuarios/:id responde el usuario fijo ({nombre})
    en: usuarios: GET /usuarios/:id answers the fixed user ({nombre})
    """
    respuesta = usuarios.get(f"/usuarios/{id_}")
    cuerpo = respuesta.expect_json(200)
    assert cuerpo == {"id": id_, "nombre": nombre} or (
        isinstance(cuerpo, dict) and cuerpo.get("id") == id_ and cuerpo.get("nombre") == nombre
    ), f'{respuesta.describe()}: se esperaba {{"id": {id_}, "nombre": "{nombre}"}} (id numérico)'


@pytest.mark.points(1)
def test_usuario_inexistente(usuarios: HttpClient) -> None:
    """usuarios: un usuario que no existe responde 404
    en: usuarios: a user that does not exist answers 404
    """
    usuarios.get("/usuarios/4").expect_status(404)


@pytest.mark.points(3)
def test_crear_pedido(pedidos: HttpClient) -> None:
    """pedidos: POST /pedidos crea el pedido con el nombre que da usuarios
    en: pedidos: POST /pedidos creates the order with the name usuarios gives
    """
    pedido = pedir(pedidos, 2, "Lámpara")
    assert pedido.get("usuarioId") == 2 and pedido.get("producto") == "Lámpara", (
        f"POST /pedidos: se esperaba usuarioId 2 y producto Lámpara, llegó {pedido}"
    )
    assert pedido.get("usuario") == {"nombre": "Nico"} or (
        isinstance(pedido.get("usuario"), dict) and pedido["usuario"].get("nombre") == "Nico"
    ), f'POST /pedidos: se esperaba "usuario": {{"nombre": "Nico"}}, llegó {pedido.get("usuario")}'


@pytest.mark.points(2)
def test_usuario_desconocido_422(pedidos: HttpClient) -> None:
    """pedidos: un usuario que no existe responde 422
    en: pedidos: a user that does not exist answers 422
    """
    error_json(pedidos.post("/pedidos", json={"usuarioId": 99, "producto": "Libro"}), 422)


@pytest.mark.points(2)
def test_obtener_pedido(pedidos: HttpClient) -> None:
    """pedidos: GET /pedidos/:id devuelve el pedido, o 404
    en: pedidos: GET /pedidos/:id returns the order, or 404
    """
    pedido = pedir(pedidos, 3, "Taza")
    respuesta = pedidos.get(f"/pedidos/{pedido['id']}")
    leido = respuesta.expect_json(200)
    assert isinstance(leido, dict) and str(leido.get("id")) == str(pedido["id"]), (
        f"{respuesta.describe()}: se esperaba el pedido {pedido['id']}"
    )
    pedidos.get("/pedidos/999999").expect_status(404)


@pytest.mark.points(3)
def test_publica_en_la_cola(pedidos: HttpClient, amqp_queue: Any) -> None:
    """pedidos: cada pedido creado se publica en la cola pedidos.creados
    en: pedidos: every order created is published on the pedidos.creados queue
    """
    assert amqp_queue.exists(COLA), f"la cola {COLA} no existe en el virtual host de AMQP_URL"
    pedido = pedir(pedidos, 1, "Cuaderno")
    # Earlier tests' orders may still be arriving: look for this one among them.
    vistos: list[Any] = []
    limite = time.monotonic() + 5
    mensaje = None
    while mensaje is None and time.monotonic() < limite:
        llegado = amqp_queue.get(COLA, timeout=max(0.1, limite - time.monotonic()))
        if llegado is None:
            break
        if isinstance(llegado, dict) and str(llegado.get("id")) == str(pedido["id"]):
            mensaje = llegado
        else:
            vistos.append(llegado)
    assert mensaje is not None, (
        f"POST /pedidos creó el pedido {pedido['id']} pero no llegó a {COLA}"
        + (f"; llegaron otros: {vistos[:3]}" if vistos else "")
    )
    assert mensaje.get("usuarioId") == 1 and mensaje.get("producto") == "Cuaderno", (
        f'el mensaje debe ser {{"id", "usuarioId", "producto"}}; llegó {mensaje}'
    )


@pytest.mark.points(1)
def test_cola_durable(pedidos: HttpClient, amqp_queue: Any) -> None:
    """pedidos: la cola pedidos.creados es durable
    en: pedidos: the pedidos.creados queue is durable
    """
    pedir(pedidos)
    assert amqp_queue.exists(COLA), f"la cola {COLA} no existe"
    assert amqp_queue.is_durable(COLA), f"la cola {COLA} debe declararse con durable: true"


@pytest.mark.points(3)
def test_usuarios_colgado_503(pedidos: HttpClient, programs: Any) -> None:
    """pedidos: si usuarios no contesta (detenido), responde 503 en menos de 2 s
    en: pedidos: if usuarios does not answer (stopped), it answers 503 within 2 s
    """
    programs["usuarios"].signal(signal.SIGSTOP)
    try:
        inicio = time.monotonic()
        respuesta = pedidos.post("/pedidos", json={"usuarioId": 1, "producto": "Libro"}, timeout=6)
        demora = time.monotonic() - inicio
    finally:
        programs["usuarios"].signal(signal.SIGCONT)
    error_json(respuesta, 503)
    assert demora < 2, (
        f"{respuesta.describe()}: llegó a los {demora:.1f} s; debe ser en menos de 2 s"
    )


@pytest.mark.points(2)
def test_usuarios_caido_503(pedidos: HttpClient, programs: Any) -> None:
    """pedidos: si usuarios está caído, responde 503
    en: pedidos: if usuarios is down, it answers 503
    """
    programs["usuarios"].stop()
    inicio = time.monotonic()
    respuesta = pedidos.post("/pedidos", json={"usuarioId": 1, "producto": "Libro"}, timeout=6)
    demora = time.monotonic() - inicio
    error_json(respuesta, 503)
    assert demora < 2, (
        f"{respuesta.describe()}: llegó a los {demora:.1f} s; debe ser en menos de 2 s"
    )


# Hidden tests run after every visible one (taller_grader's plugin orders them so), and
# the last visible one stops usuarios.
@pytest.mark.hidden
@pytest.mark.points(1)
def test_ids_distintos(pedidos: HttpClient, programs: Any) -> None:
    """pedidos: dos pedidos seguidos tienen ids distintos
    en: pedidos: two orders in a row have different ids
    """
    if not programs["usuarios"].running:
        programs["usuarios"].start()
    assert pedir(pedidos)["id"] != pedir(pedidos)["id"]
