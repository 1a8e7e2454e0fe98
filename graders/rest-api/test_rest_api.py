"""Grader suite for `rest-api` (docs/exercises.md, section 3).

Tests run in the order written, against one run of the student's server; each test
creates the tasks it needs, so none depends on another's leftovers.
"""

from __future__ import annotations

from typing import Any

import pytest

from taller_grader.sdk.http import HttpClient, Response


def crear(http: HttpClient, titulo: str = "Comprar pan", **extra: Any) -> dict[str, Any]:
    respuesta = http.post("/api/tareas", json={"titulo": titulo, **extra})
    tarea = respuesta.expect_json(201)
    assert isinstance(tarea, dict) and "id" in tarea, (
        f"{respuesta.describe()}: la tarea creada debe ser un objeto JSON con un id"
    )
    return tarea


def same_id(a: Any, b: Any) -> bool:
    # Ids may be numbers or strings; /api/tareas/7 and 7 and "7" are the same task.
    return str(a) == str(b)


def error_body(respuesta: Response, status: int) -> None:
    cuerpo = respuesta.expect_json(status)
    assert isinstance(cuerpo, dict) and isinstance(cuerpo.get("error"), str), (
        f'{respuesta.describe()}: se esperaba un cuerpo como {{"error": "..."}} que explique el motivo'
    )


@pytest.mark.points(1)
def test_saludo(http: HttpClient) -> None:
    """GET /api/saludo responde el saludo del ejemplo
    en: GET /api/saludo answers the example's greeting
    """
    respuesta = http.get("/api/saludo")
    cuerpo = respuesta.expect_json(200)
    assert cuerpo == {"mensaje": "Hola desde el backend"} or (
        isinstance(cuerpo, dict) and cuerpo.get("mensaje") == "Hola desde el backend"
    ), f'{respuesta.describe()}: se esperaba {{"mensaje": "Hola desde el backend"}}'


@pytest.mark.points(2)
def test_crear_tarea(http: HttpClient) -> None:
    """POST /api/tareas crea una tarea con 201, Location y completada=false
    en: POST /api/tareas creates a task with 201, Location and completada=false
    """
    respuesta = http.post("/api/tareas", json={"titulo": "Aprender Express"})
    tarea = respuesta.expect_json(201)
    assert isinstance(tarea, dict), f"{respuesta.describe()}: se esperaba la tarea como objeto"
    assert tarea.get("titulo") == "Aprender Express", (
        f"{respuesta.describe()}: el titulo de la tarea debería ser 'Aprender Express'"
    )
    assert tarea.get("completada") is False, (
        f"{respuesta.describe()}: completada debe ser false (el booleano) si no se envía; llegó "
        f"{tarea.get('completada')!r}"
    )
    assert "id" in tarea, f"{respuesta.describe()}: the task has no id"
    location = respuesta.header("location")
    assert location == f"/api/tareas/{tarea['id']}", (
        f"{respuesta.describe()}: se esperaba la cabecera Location: /api/tareas/{tarea['id']} y llegó "
        f"{location!r}"
    )


@pytest.mark.points(1)
def test_crear_respeta_completada(http: HttpClient) -> None:
    """POST /api/tareas guarda completada=true cuando se envía
    en: POST /api/tareas keeps completada=true when it is sent
    """
    tarea = crear(http, "Hecha", completada=True)
    assert tarea.get("completada") is True, (
        f"POST /api/tareas con completada true: la tarea dice completada={tarea.get('completada')!r}"
    )


@pytest.mark.points(2)
def test_listar_en_orden(http: HttpClient) -> None:
    """GET /api/tareas devuelve todas las tareas en orden de creación
    en: GET /api/tareas returns every task in creation order
    """
    creadas = [crear(http, f"Tarea {n}") for n in range(3)]
    respuesta = http.get("/api/tareas")
    lista = respuesta.expect_json(200)
    assert isinstance(lista, list), f"{respuesta.describe()}: se esperaba un arreglo JSON"
    ids = [str(t.get("id")) for t in lista if isinstance(t, dict)]
    esperados = [str(t["id"]) for t in creadas]
    posiciones = [ids.index(i) for i in esperados if i in ids]
    assert len(posiciones) == 3, (
        f"{respuesta.describe()}: se acaban de crear las tareas {esperados} pero no aparecen todas"
    )
    assert posiciones == sorted(posiciones), (
        f"{respuesta.describe()}: las tareas deben listarse en orden de creación"
    )


@pytest.mark.points(1)
def test_filtrar_por_completada(http: HttpClient) -> None:
    """GET /api/tareas?completada=true|false filtra
    en: GET /api/tareas?completada=true|false filters
    """
    hecha = crear(http, "Filtrar hecha", completada=True)
    pendiente = crear(http, "Filtrar pendiente")
    for valor, dentro, fuera in (("true", hecha, pendiente), ("false", pendiente, hecha)):
        respuesta = http.get(f"/api/tareas?completada={valor}")
        lista = respuesta.expect_json(200)
        assert isinstance(lista, list), f"{respuesta.describe()}: se esperaba un arreglo JSON"
        assert all(
            isinstance(t, dict) and t.get("completada") is (valor == "true") for t in lista
        ), f"{respuesta.describe()}: todas las tareas listadas deben tener completada={valor}"
        ids = {str(t.get("id")) for t in lista}
        assert str(dentro["id"]) in ids and str(fuera["id"]) not in ids, (
            f"{respuesta.describe()}: el filtro debe incluir la tarea {dentro['id']} y "
            f"dejar fuera la tarea {fuera['id']}"
        )


@pytest.mark.points(1)
def test_obtener_una(http: HttpClient) -> None:
    """GET /api/tareas/:id devuelve la tarea
    en: GET /api/tareas/:id returns the task
    """
    tarea = crear(http, "Una sola")
    respuesta = http.get(f"/api/tareas/{tarea['id']}")
    cuerpo = respuesta.expect_json(200)
    assert isinstance(cuerpo, dict) and same_id(cuerpo.get("id"), tarea["id"]), (
        f"{respuesta.describe()}: se esperaba la tarea {tarea['id']}"
    )
    assert cuerpo.get("titulo") == "Una sola" and cuerpo.get("completada") is False


@pytest.mark.points(1)
def test_obtener_inexistente(http: HttpClient) -> None:
    """GET /api/tareas/:id de una tarea que no existe responde 404 con error
    en: GET /api/tareas/:id of a task that does not exist answers 404 with an error
    """
    error_body(http.get("/api/tareas/999999"), 404)


@pytest.mark.points(2)
def test_actualizar(http: HttpClient) -> None:
    """PUT /api/tareas/:id reemplaza titulo y completada
    en: PUT /api/tareas/:id replaces titulo and completada
    """
    tarea = crear(http, "Antes")
    respuesta = http.put(
        f"/api/tareas/{tarea['id']}", json={"titulo": "Después", "completada": True}
    )
    cuerpo = respuesta.expect_json(200)
    assert (
        isinstance(cuerpo, dict)
        and cuerpo.get("titulo") == "Después"
        and cuerpo.get("completada") is True
    ), f"{respuesta.describe()}: se esperaba la tarea actualizada"
    leida = http.get(f"/api/tareas/{tarea['id']}")
    assert leida.expect_json(200).get("titulo") == "Después", (
        f"{leida.describe()}: la actualización no se guardó"
    )


@pytest.mark.points(1)
def test_actualizar_invalido(http: HttpClient) -> None:
    """PUT /api/tareas/:id sin completada responde 400
    en: PUT /api/tareas/:id without completada answers 400
    """
    tarea = crear(http, "Sin tocar")
    error_body(http.put(f"/api/tareas/{tarea['id']}", json={"titulo": "Falta completada"}), 400)


@pytest.mark.points(1)
def test_actualizar_inexistente(http: HttpClient) -> None:
    """PUT /api/tareas/:id de una tarea que no existe responde 404
    en: PUT /api/tareas/:id of a task that does not exist answers 404
    """
    error_body(http.put("/api/tareas/999999", json={"titulo": "x", "completada": False}), 404)


@pytest.mark.points(2)
def test_borrar(http: HttpClient) -> None:
    """DELETE /api/tareas/:id responde 204 sin cuerpo y la tarea desaparece
    en: DELETE /api/tareas/:id answers 204 with no body, and the task is gone
    """
    tarea = crear(http, "Borrame")
    respuesta = http.delete(f"/api/tareas/{tarea['id']}").expect_status(204)
    assert respuesta.body == b"", f"{respuesta.describe()}: una respuesta 204 no lleva cuerpo"
    error_body(http.get(f"/api/tareas/{tarea['id']}"), 404)
    error_body(http.delete(f"/api/tareas/{tarea['id']}"), 404)


@pytest.mark.points(2)
@pytest.mark.parametrize(
    ("cuerpo", "por_que"),
    [
        ({}, "sin titulo"),
        ({"titulo": ""}, "con titulo vacío"),
        ({"titulo": 42}, "con un titulo que no es texto"),
        (
            {"titulo": "Ok", "completada": "true"},
            'con completada "true" (un texto, no un booleano)',
        ),
    ],
    ids=["sin-titulo", "vacio", "numero", "completada-texto"],
)
def test_validacion(http: HttpClient, cuerpo: dict[str, Any], por_que: str) -> None:
    """POST /api/tareas inválido responde 400 ({por_que})
    en: An invalid POST /api/tareas answers 400 ({por_que})
    """
    error_body(http.post("/api/tareas", json=cuerpo), 400)


@pytest.mark.points(1)
def test_json_mal_formado(http: HttpClient) -> None:
    """POST /api/tareas con JSON mal formado responde 400 con error en JSON
    en: POST /api/tareas with malformed JSON answers 400 with an error in JSON
    """
    respuesta = http.post(
        "/api/tareas", data='{"titulo": "roto",', headers={"Content-Type": "application/json"}
    )
    error_body(respuesta, 400)


@pytest.mark.points(1)
def test_ruta_desconocida(http: HttpClient) -> None:
    """Una ruta desconocida responde 404 con error en JSON
    en: An unknown route answers 404 with an error in JSON
    """
    error_body(http.get("/api/no-existe"), 404)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_titulo_con_espacios(http: HttpClient) -> None:
    """Un titulo de solo espacios es inválido; uno de 200 caracteres no
    en: A titulo of only spaces is invalid; one of 200 characters is not
    """
    error_body(http.post("/api/tareas", json={"titulo": "   "}), 400)
    error_body(http.post("/api/tareas", json={"titulo": "x" * 201}), 400)
    crear(http, "y" * 200)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_ids_no_se_reutilizan(http: HttpClient) -> None:
    """Los ids nunca se reutilizan tras borrar
    en: Ids are never reused after a delete
    """
    primera = crear(http, "Primera")
    http.delete(f"/api/tareas/{primera['id']}").expect_status(204)
    segunda = crear(http, "Segunda")
    assert not same_id(primera["id"], segunda["id"]), (
        f"la tarea {primera['id']} se borró y su id se le dio a una tarea nueva"
    )


@pytest.mark.hidden
@pytest.mark.points(1)
def test_campos_extra_se_ignoran(http: HttpClient) -> None:
    """Los campos desconocidos se ignoran al crear
    en: Unknown fields are ignored on create
    """
    tarea = crear(http, "Con extra", prioridad="alta")
    assert tarea.get("titulo") == "Con extra"


@pytest.mark.hidden
@pytest.mark.points(1)
def test_put_invalido_no_cambia(http: HttpClient) -> None:
    """Un PUT inválido no cambia la tarea
    en: An invalid PUT does not change the task
    """
    tarea = crear(http, "Intacta")
    error_body(http.put(f"/api/tareas/{tarea['id']}", json={"titulo": "", "completada": True}), 400)
    leida = http.get(f"/api/tareas/{tarea['id']}").expect_json(200)
    assert leida.get("titulo") == "Intacta" and leida.get("completada") is False, (
        "un PUT inválido debe dejar la tarea como estaba"
    )
