"""Grader suite for `mongo` (docs/exercises.md, section 5).

The suite reads the run's own MongoDB collection itself (`mongo`). "Ordered by id" is
creation order within one run of the student's server: ObjectIds from two processes in
the same second do not order, on MongoDB itself too.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from bson import ObjectId

from taller_grader.sdk.http import HttpClient, Response


def email() -> str:
    return f"u{secrets.token_hex(4)}@ejemplo.com"


def crear(http: HttpClient, nombre: str = "Ana", correo: str | None = None) -> dict[str, Any]:
    respuesta = http.post("/api/usuarios", json={"nombre": nombre, "email": correo or email()})
    usuario = respuesta.expect_json(201)
    assert isinstance(usuario, dict) and isinstance(usuario.get("id"), str), (
        f"{respuesta.describe()}: se esperaba el usuario creado con un campo «id» de texto "
        "(el _id del documento)"
    )
    return usuario


def error_json(respuesta: Response, *estados: int) -> None:
    respuesta.expect_status(*estados)
    cuerpo = respuesta.json()
    assert isinstance(cuerpo, dict) and isinstance(cuerpo.get("error"), str), (
        f'{respuesta.describe()}: se esperaba un cuerpo como {{"error": "..."}}'
    )


@pytest.mark.points(3)
def test_crear_guarda_en_mongodb(http: HttpClient, mongo: Any) -> None:
    """POST /api/usuarios responde 201 con id y el documento queda en la colección usuarios
    en: POST /api/usuarios answers 201 with an id, and the document is stored in the usuarios collection
    """
    correo = email()
    usuario = crear(http, "Lucía", correo)
    assert usuario.get("nombre") == "Lucía" and usuario.get("email") == correo, (
        f"POST /api/usuarios: se esperaba el usuario con nombre y email, llegó {usuario}"
    )
    documento = mongo["usuarios"].find_one({"email": correo})
    assert documento is not None, f"el usuario {correo} no está en la colección usuarios"
    assert str(documento["_id"]) == usuario["id"], (
        f"el id devuelto ({usuario['id']}) no es el _id del documento ({documento['_id']})"
    )


@pytest.mark.points(2)
def test_listar_en_orden(http: HttpClient) -> None:
    """GET /api/usuarios devuelve todos los usuarios, con id, en orden de creación
    en: GET /api/usuarios returns every user, with its id, in creation order
    """
    creados = [crear(http, n)["id"] for n in ("Zoe", "Bruno", "Mara")]
    respuesta = http.get("/api/usuarios")
    lista = respuesta.expect_json(200)
    assert isinstance(lista, list), f"{respuesta.describe()}: se esperaba un arreglo JSON"
    ids = [u.get("id") for u in lista if isinstance(u, dict)]
    assert all(isinstance(i, str) for i in ids), (
        f"{respuesta.describe()}: cada usuario debe llevar «id» (el _id como texto)"
    )
    posiciones = [ids.index(i) for i in creados if i in ids]
    assert len(posiciones) == 3 and posiciones == sorted(posiciones), (
        f"{respuesta.describe()}: los usuarios {creados} deben aparecer en orden de creación"
    )


@pytest.mark.points(1)
def test_obtener_uno(http: HttpClient) -> None:
    """GET /api/usuarios/:id devuelve el usuario
    en: GET /api/usuarios/:id returns the user
    """
    usuario = crear(http, "Iris")
    respuesta = http.get(f"/api/usuarios/{usuario['id']}")
    cuerpo = respuesta.expect_json(200)
    assert isinstance(cuerpo, dict) and cuerpo.get("email") == usuario["email"], (
        f"{respuesta.describe()}: se esperaba el usuario {usuario}"
    )
    assert cuerpo.get("id") == usuario["id"], f"{respuesta.describe()}: falta «id»"


@pytest.mark.points(1)
def test_obtener_inexistente(http: HttpClient) -> None:
    """GET /api/usuarios/:id de un ObjectId que no existe responde 404
    en: GET /api/usuarios/:id of an ObjectId that does not exist answers 404
    """
    error_json(http.get(f"/api/usuarios/{ObjectId()}"), 404)


@pytest.mark.points(2)
def test_obtener_id_invalido(http: HttpClient) -> None:
    """GET /api/usuarios/:id con un id que no es un ObjectId responde 404, no 500
    en: GET /api/usuarios/:id with an id that is not an ObjectId answers 404, not 500
    """
    error_json(http.get("/api/usuarios/abc"), 404)


@pytest.mark.points(2)
@pytest.mark.parametrize(
    "cuerpo",
    [
        {"email": "a@b.c"},
        {"nombre": "", "email": "a@b.c"},
        {"nombre": "Ana", "email": "sin-arroba"},
    ],
    ids=["sin-nombre", "nombre-vacio", "email-sin-arroba"],
)
def test_validacion(http: HttpClient, mongo: Any, cuerpo: dict[str, Any]) -> None:
    """POST /api/usuarios inválido responde 400 y no guarda nada
    en: An invalid POST /api/usuarios answers 400 and stores nothing
    """
    antes = mongo["usuarios"].count_documents({})
    error_json(http.post("/api/usuarios", json=cuerpo), 400)
    assert mongo["usuarios"].count_documents({}) == antes, "un POST inválido no debe guardar nada"


@pytest.mark.points(3)
def test_email_repetido(http: HttpClient, mongo: Any) -> None:
    """Un email repetido responde 409 y no crea un segundo documento
    en: A repeated email answers 409 and creates no second document
    """
    correo = email()
    crear(http, "Primera", correo)
    error_json(http.post("/api/usuarios", json={"nombre": "Segunda", "email": correo}), 409)
    assert mongo["usuarios"].count_documents({"email": correo}) == 1, (
        f"hay más de un documento con el email {correo}: falta un índice único"
    )


@pytest.mark.points(3)
def test_sobrevive_reinicio(http: HttpClient, program: Any) -> None:
    """Los usuarios sobreviven a un reinicio del servidor
    en: Users survive a restart of the server
    """
    usuario = crear(http, "Persistente")
    program.restart()
    respuesta = http.get(f"/api/usuarios/{usuario['id']}")
    cuerpo = respuesta.expect_json(200)
    assert cuerpo.get("email") == usuario["email"], (
        f"después de reiniciar el servidor, {respuesta.describe()}: el usuario no está"
    )


@pytest.mark.hidden
@pytest.mark.points(2)
def test_lee_de_mongodb(http: HttpClient, mongo: Any) -> None:
    """Un documento insertado directamente en la colección aparece en la API
    en: A document inserted straight into the collection shows in the API
    """
    correo = email()
    nuevo = mongo["usuarios"].insert_one({"nombre": "Directo", "email": correo}).inserted_id
    cuerpo = http.get(f"/api/usuarios/{nuevo}").expect_json(200)
    assert cuerpo.get("email") == correo, "la API no muestra lo que hay en la colección"


@pytest.mark.hidden
@pytest.mark.points(1)
def test_campos_extra_no_se_guardan_como_id(http: HttpClient) -> None:
    """Un «id» enviado por el cliente no reemplaza al _id
    en: An «id» sent by the client does not replace the _id
    """
    respuesta = http.post(
        "/api/usuarios",
        json={"nombre": "Pícara", "email": email(), "id": "000000000000000000000000"},
    )
    usuario = respuesta.expect_json(201)
    assert usuario.get("id") != "000000000000000000000000", (
        f"{respuesta.describe()}: el id lo asigna MongoDB, no el cliente"
    )
