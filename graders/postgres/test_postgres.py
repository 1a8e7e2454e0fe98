"""Grader suite for `postgres` (docs/exercises.md, section 4).

The suite reads the run's own database itself (`pg`), restarts the student's server to
prove persistence, sends the SQL-injection `nombre`, and fires twenty concurrent inserts.
"""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from taller_grader.sdk.http import HttpClient, Response

INJECTION = "Robert'); DROP TABLE usuarios;--"


def email() -> str:
    return f"u{secrets.token_hex(4)}@ejemplo.com"


def crear(http: HttpClient, nombre: str = "Ana", correo: str | None = None) -> dict[str, Any]:
    respuesta = http.post("/api/usuarios", json={"nombre": nombre, "email": correo or email()})
    usuario = respuesta.expect_json(201)
    assert isinstance(usuario, dict) and "id" in usuario, (
        f"{respuesta.describe()}: se esperaba el usuario creado, con su id"
    )
    return usuario


def filas(pg: Any) -> list[tuple[Any, ...]]:
    return list(pg.execute("SELECT id, nombre, email FROM usuarios ORDER BY id"))


def error_json(respuesta: Response, *estados: int) -> None:
    respuesta.expect_status(*estados)
    cuerpo = respuesta.json()
    assert isinstance(cuerpo, dict) and isinstance(cuerpo.get("error"), str), (
        f'{respuesta.describe()}: se esperaba un cuerpo como {{"error": "..."}}'
    )


@pytest.mark.points(2)
def test_tabla_creada(pg: Any) -> None:
    """Al arrancar, el servidor crea la tabla usuarios con id, nombre y email único
    en: On start, the server creates the usuarios table with id, nombre and a unique email
    """
    columnas = dict(
        pg.execute(
            "SELECT column_name, is_nullable FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = 'usuarios'"
        ).fetchall()
    )
    assert columnas, "la tabla usuarios no existe en la base de datos después de arrancar"
    assert {"id", "nombre", "email"} <= set(columnas), (
        f"la tabla usuarios debe tener las columnas id, nombre y email; tiene {sorted(columnas)}"
    )
    unico = pg.execute(
        "SELECT 1 FROM pg_indexes WHERE tablename = 'usuarios' AND indexdef ILIKE "
        "'%UNIQUE%(email)%'"
    ).fetchone()
    assert unico, "email debe ser UNIQUE en la tabla usuarios"


@pytest.mark.points(1)
def test_ahora(http: HttpClient) -> None:
    """GET /api/ahora responde la hora de PostgreSQL en ISO-8601
    en: GET /api/ahora answers PostgreSQL's time in ISO-8601
    """
    respuesta = http.get("/api/ahora")
    cuerpo = respuesta.expect_json(200)
    texto = cuerpo.get("ahora") if isinstance(cuerpo, dict) else None
    assert isinstance(texto, str), f'{respuesta.describe()}: se esperaba {{"ahora": "..."}}'
    try:
        hora = datetime.fromisoformat(texto.replace("Z", "+00:00"))
    except ValueError:
        raise AssertionError(
            f"{respuesta.describe()}: {texto!r} no es una fecha ISO-8601"
        ) from None
    if hora.tzinfo is None:
        hora = hora.replace(tzinfo=UTC)
    diferencia = abs((datetime.now(UTC) - hora).total_seconds())
    assert diferencia < 10, f"{respuesta.describe()}: la hora está {diferencia:.0f} s desfasada"


@pytest.mark.points(2)
def test_crear_guarda_en_la_base(http: HttpClient, pg: Any) -> None:
    """POST /api/usuarios responde 201 y la fila queda en PostgreSQL
    en: POST /api/usuarios answers 201 and the row is stored in PostgreSQL
    """
    correo = email()
    usuario = crear(http, "Lucía", correo)
    assert usuario.get("nombre") == "Lucía" and usuario.get("email") == correo, (
        f"POST /api/usuarios: se esperaba el usuario creado con nombre y email, llegó {usuario}"
    )
    guardadas = [f for f in filas(pg) if f[2] == correo]
    assert guardadas, f"el usuario {correo} no está en la tabla usuarios de PostgreSQL"
    assert str(guardadas[0][0]) == str(usuario["id"]), "el id devuelto no es el de la fila"


@pytest.mark.points(2)
def test_listar_ordenado(http: HttpClient, pg: Any) -> None:
    """GET /api/usuarios devuelve todas las filas ordenadas por id
    en: GET /api/usuarios returns every row ordered by id
    """
    for nombre in ("Zoe", "Bruno", "Mara"):
        crear(http, nombre)
    respuesta = http.get("/api/usuarios")
    lista = respuesta.expect_json(200)
    assert isinstance(lista, list), f"{respuesta.describe()}: se esperaba un arreglo JSON"
    ids = [str(u.get("id")) for u in lista if isinstance(u, dict)]
    esperados = [str(f[0]) for f in filas(pg)]
    assert ids == esperados, (
        f"{respuesta.describe()}: se esperaban los usuarios de la tabla en orden de id "
        f"{esperados}, llegaron {ids}"
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


@pytest.mark.points(1)
@pytest.mark.parametrize("id_", ["999999", "abc"], ids=["inexistente", "no-numerico"])
def test_obtener_404(http: HttpClient, id_: str) -> None:
    """GET /api/usuarios/:id responde 404 si el id no existe o no es válido ({id_})
    en: GET /api/usuarios/:id answers 404 if the id does not exist or is not valid ({id_})
    """
    error_json(http.get(f"/api/usuarios/{id_}"), 404)


@pytest.mark.points(2)
@pytest.mark.parametrize(
    "cuerpo",
    [
        {"email": "a@b.c"},
        {"nombre": "", "email": "a@b.c"},
        {"nombre": "Ana", "email": "sin-arroba"},
        {"nombre": "Ana", "email": 7},
    ],
    ids=["sin-nombre", "nombre-vacio", "email-sin-arroba", "email-no-texto"],
)
def test_validacion(http: HttpClient, pg: Any, cuerpo: dict[str, Any]) -> None:
    """POST /api/usuarios inválido responde 400 y no guarda nada
    en: An invalid POST /api/usuarios answers 400 and stores nothing
    """
    antes = len(filas(pg))
    error_json(http.post("/api/usuarios", json=cuerpo), 400)
    assert len(filas(pg)) == antes, "un POST inválido no debe guardar ninguna fila"


@pytest.mark.points(2)
def test_email_repetido(http: HttpClient) -> None:
    """Un email repetido responde 409
    en: A repeated email answers 409
    """
    correo = email()
    crear(http, "Primera", correo)
    error_json(http.post("/api/usuarios", json={"nombre": "Segunda", "email": correo}), 409)


@pytest.mark.points(3)
def test_inyeccion_sql(http: HttpClient, pg: Any) -> None:
    """Los valores van como parámetros: un nombre con SQL se guarda tal cual
    en: Values go as parameters: a name with SQL in it is stored as it is
    """
    respuesta = http.post("/api/usuarios", json={"nombre": INJECTION, "email": email()})
    usuario = respuesta.expect_json(201)
    existe = pg.execute("SELECT to_regclass('usuarios')").fetchone()[0]
    assert existe is not None, "la tabla usuarios desapareció: el SQL se armó pegando el nombre"
    guardado = pg.execute(
        "SELECT nombre FROM usuarios WHERE id = %s", (int(usuario["id"]),)
    ).fetchone()
    assert guardado and guardado[0] == INJECTION, (
        f"{respuesta.describe()}: el nombre debe guardarse tal cual; en la tabla hay {guardado}"
    )


@pytest.mark.points(3)
def test_veinte_simultaneos(http: HttpClient, pg: Any) -> None:
    """Veinte POST simultáneos funcionan todos (un pool, o un cliente bien usado)
    en: Twenty simultaneous POSTs all work (a pool, or one client used well)
    """
    correos = [email() for _ in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        respuestas = list(
            pool.map(
                lambda c: http.post(
                    "/api/usuarios", json={"nombre": "Simultáneo", "email": c}, timeout=15
                ),
                correos,
            )
        )
    fallidas = [r for r in respuestas if r.status != 201]
    assert not fallidas, (
        f"{len(fallidas)} de 20 POST simultáneos fallaron; por ejemplo: {fallidas[0].describe()}"
    )
    guardados = {f[2] for f in filas(pg)}
    assert set(correos) <= guardados, "no todos los usuarios simultáneos quedaron en la tabla"


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
def test_lee_de_la_base(http: HttpClient, pg: Any) -> None:
    """Una fila insertada directamente en la tabla aparece en la API
    en: A row inserted straight into the table shows in the API
    """
    correo = email()
    (nuevo,) = pg.execute(
        "INSERT INTO usuarios (nombre, email) VALUES ('Directo', %s) RETURNING id", (correo,)
    ).fetchone()
    cuerpo = http.get(f"/api/usuarios/{nuevo}").expect_json(200)
    assert cuerpo.get("email") == correo, "la API no muestra lo que hay en la tabla"


@pytest.mark.hidden
@pytest.mark.points(1)
def test_id_enorme(http: HttpClient) -> None:
    """Un id fuera de rango responde 404, no 500
    en: An id out of range answers 404, not 500
    """
    error_json(http.get("/api/usuarios/99999999999999999999"), 404)
