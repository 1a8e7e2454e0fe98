"""Grader suite for `jwt-auth` (docs/exercises.md, section 6).

Every check on tokens uses tokens this suite forges itself with the run's JWT_SECRET
(given to the suite through `run_env`): valid ones, expired ones, ones signed with
another secret, ones whose header says `alg: none`, ones of each role. The tokens the
student's server issues are decoded and verified here with PyJWT, pinned to HS256.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest

from taller_grader.sdk.http import HttpClient, Response

ANA = {"usuario": "ana", "password": "secreta123", "rol": "estudiante"}
NICO = {"usuario": "nico", "password": "clave456", "rol": "admin"}


# Helpers -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def secreto(run_env: dict[str, str]) -> str:
    return run_env["JWT_SECRET"]


def forjar(
    secreto: str,
    sub: str,
    rol: str,
    *,
    emitido: float | None = None,
    duracion: int = 3600,
) -> str:
    """A token as a correct server would issue it (HS256, signed with `secreto`)."""
    iat = int(emitido if emitido is not None else time.time())
    return jwt.encode({"sub": sub, "rol": rol, "iat": iat, "exp": iat + duracion}, secreto, "HS256")


def b64url(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sin_firma(sub: str, rol: str, alg: str = "none") -> str:
    """The classic attack: a header that says `alg: none` and no signature at all."""
    iat = int(time.time())
    header = b64url({"alg": alg, "typ": "JWT"})
    payload = b64url({"sub": sub, "rol": rol, "iat": iat, "exp": iat + 3600})
    return f"{header}.{payload}."


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def pedido(respuesta: Response) -> str:
    """What was sent, in Spanish: `POST /api/login con el cuerpo {...}`."""
    peticion = respuesta.request
    texto = f"{peticion.method} {peticion.path}"
    if peticion.body:
        texto += f" con el cuerpo {peticion.body[:500].decode('utf-8', 'replace')}"
    return texto


def describir(respuesta: Response) -> str:
    """What was sent and what came back: `GET /api/perfil → 401 {"error": ...}`."""
    return f"{pedido(respuesta)} → {respuesta.status} {respuesta.preview()}"


def cuerpo_json(respuesta: Response) -> Any:
    """The body as JSON, or a failure in Spanish that shows what came instead."""
    tipo = respuesta.content_type
    if tipo != "application/json":
        raise AssertionError(
            f"{describir(respuesta)}: se esperaba una respuesta JSON (Content-Type: "
            f"application/json) y llegó Content-Type {tipo or '(ninguno)'!r}"
        )
    try:
        return json.loads(respuesta.body)
    except ValueError:
        raise AssertionError(f"{describir(respuesta)}: el cuerpo no es JSON válido") from None


def json_con_estado(respuesta: Response, status: int, que: str) -> Any:
    if respuesta.status != status:
        raise AssertionError(
            f"{que}: {pedido(respuesta)} debería responder {status} y respondió "
            f"{respuesta.status} con el cuerpo {respuesta.preview()}"
        )
    return cuerpo_json(respuesta)


def login(http: HttpClient, usuario: dict[str, str]) -> tuple[Response, str]:
    cuerpo = {"usuario": usuario["usuario"], "password": usuario["password"]}
    respuesta = http.post("/api/login", json=cuerpo)
    datos = json_con_estado(respuesta, 200, f"Login de {usuario['usuario']} con su contraseña")
    token = datos.get("token") if isinstance(datos, dict) else None
    assert isinstance(token, str) and token.count(".") == 2, (
        f'{describir(respuesta)}: se esperaba un cuerpo {{"token": "<jwt>"}} con un JWT '
        "(tres partes separadas por puntos)"
    )
    return respuesta, token


def con_error(respuesta: Response, status: int, que: str) -> None:
    """`status` with a JSON body {"error": "..."}; `que` says what was sent, in Spanish."""
    cuerpo = json_con_estado(respuesta, status, que)
    assert isinstance(cuerpo, dict) and isinstance(cuerpo.get("error"), str), (
        f"{que}: {describir(respuesta)}: se esperaba un cuerpo como "
        '{"error": "..."} que explique el motivo'
    )


def perfil_esperado(respuesta: Response, usuario: str, rol: str, que: str) -> None:
    cuerpo = json_con_estado(respuesta, 200, que)
    recibido = (
        {"usuario": cuerpo.get("usuario"), "rol": cuerpo.get("rol")}
        if isinstance(cuerpo, dict)
        else cuerpo
    )
    assert recibido == {"usuario": usuario, "rol": rol}, (
        f"{que}: {describir(respuesta)}: se esperaba "
        f'{{"usuario": "{usuario}", "rol": "{rol}"}} y llegó {recibido!r}'
    )


def decodificar(
    token: str, secreto: str, respuesta: Response, *, firma: bool = True
) -> dict[str, Any]:
    """The issued token, verified as HS256 with the run's secret (unless `firma` is False)."""
    try:
        cabecera = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise AssertionError(
            f"{describir(respuesta)}: el token no es un JWT bien formado ({exc})"
        ) from None
    assert cabecera.get("alg") == "HS256", (
        f"{describir(respuesta)}: la cabecera del token dice alg={cabecera.get('alg')!r}; "
        "se esperaba HS256"
    )
    try:
        datos: dict[str, Any] = jwt.decode(
            token,
            secreto,
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_signature": firma},
        )
    except jwt.InvalidSignatureError:
        raise AssertionError(
            f"{describir(respuesta)}: la firma del token no es válida con JWT_SECRET. "
            "¿Firmas con process.env.JWT_SECRET o con un secreto escrito en el código?"
        ) from None
    except jwt.PyJWTError as exc:
        raise AssertionError(f"{describir(respuesta)}: el token no es válido ({exc})") from None
    return datos


# Login ---------------------------------------------------------------------------------


@pytest.mark.points(2)
def test_login_correcto(http: HttpClient) -> None:
    """POST /api/login con credenciales correctas responde 200 con un token
    en: POST /api/login with the right credentials answers 200 with a token
    """
    login(http, ANA)


@pytest.mark.points(3)
def test_token_hs256_firmado_con_jwt_secret(http: HttpClient, secreto: str) -> None:
    """El token es HS256, está firmado con JWT_SECRET y lleva sub y rol
    en: The token is HS256, signed with JWT_SECRET, and carries sub and rol
    """
    respuesta, token = login(http, ANA)
    datos = decodificar(token, secreto, respuesta)
    assert datos.get("sub") == "ana", (
        f'{describir(respuesta)}: el token de ana debe llevar sub="ana" (el nombre de '
        f"usuario); lleva sub={datos.get('sub')!r}. Contenido: {datos}"
    )
    assert datos.get("rol") == "estudiante", (
        f'{describir(respuesta)}: el token de ana debe llevar rol="estudiante"; lleva '
        f"rol={datos.get('rol')!r}. Contenido: {datos}"
    )


@pytest.mark.points(2)
def test_token_caduca_en_una_hora(http: HttpClient, secreto: str) -> None:
    """El token caduca una hora después de emitirse (exp - iat = 3600)
    en: The token expires one hour after it is issued (exp - iat = 3600)
    """
    antes = time.time()
    respuesta, token = login(http, ANA)
    datos = decodificar(token, secreto, respuesta, firma=False)  # the signature: test 2
    iat, exp = datos.get("iat"), datos.get("exp")
    assert isinstance(exp, int | float), (
        f"{describir(respuesta)}: el token no tiene exp (caducidad), así que vale para "
        f'siempre. Contenido: {datos}. Usa expiresIn: "1h".'
    )
    assert isinstance(iat, int | float), (
        f"{describir(respuesta)}: el token no tiene iat (cuándo se emitió). Contenido: {datos}"
    )
    assert abs(exp - iat - 3600) < 1, (  # NumericDates may carry fractions of a second
        f"{describir(respuesta)}: exp - iat debe ser 3600 (una hora) y es {exp - iat}. "
        f"Contenido: {datos}"
    )
    assert abs(iat - antes) <= 60, (
        f"{describir(respuesta)}: iat={iat} no es la hora de emisión (ahora es {int(antes)})"
    )


@pytest.mark.points(2)
def test_login_credenciales_incorrectas(http: HttpClient) -> None:
    """POST /api/login con credenciales incorrectas responde 401
    en: POST /api/login with wrong credentials answers 401
    """
    casos = [
        ({"usuario": "ana", "password": "mala"}, "contraseña incorrecta"),
        ({"usuario": "nadie", "password": "secreta123"}, "usuario que no existe"),
    ]
    for cuerpo, que in casos:
        respuesta = http.post("/api/login", json=cuerpo)
        con_error(respuesta, 401, f"Login con {que}")
        assert "token" not in (cuerpo_json(respuesta) or {}), (
            f"{describir(respuesta)}: un login fallido no debe dar un token"
        )


@pytest.mark.points(1)
def test_login_sin_campos(http: HttpClient) -> None:
    """POST /api/login sin usuario o sin password responde 400
    en: POST /api/login without a user name or a password answers 400
    """
    for cuerpo in ({}, {"usuario": "ana"}, {"password": "secreta123"}):
        con_error(http.post("/api/login", json=cuerpo), 400, f"Login con el cuerpo {cuerpo}")


# Perfil --------------------------------------------------------------------------------


@pytest.mark.points(2)
def test_perfil_con_token_del_login(http: HttpClient) -> None:
    """GET /api/perfil con el token del login responde usuario y rol
    en: GET /api/perfil with the login's token answers the user and the role
    """
    _, token = login(http, ANA)
    respuesta = http.get("/api/perfil", headers=bearer(token))
    perfil_esperado(respuesta, "ana", "estudiante", "Con el token que dio el login de ana")


@pytest.mark.points(2)
def test_perfil_con_token_firmado_con_jwt_secret(http: HttpClient, secreto: str) -> None:
    """GET /api/perfil acepta un token válido firmado con JWT_SECRET
    en: GET /api/perfil accepts a valid token signed with JWT_SECRET
    """
    respuesta = http.get("/api/perfil", headers=bearer(forjar(secreto, "nico", "admin")))
    perfil_esperado(
        respuesta,
        "nico",
        "admin",
        "Con un token HS256 válido de nico firmado con JWT_SECRET (sub=nico, rol=admin)",
    )


@pytest.mark.points(1)
def test_perfil_sin_cabecera(http: HttpClient) -> None:
    """GET /api/perfil sin cabecera Authorization responde 401
    en: GET /api/perfil without an Authorization header answers 401
    """
    con_error(http.get("/api/perfil"), 401, "Sin cabecera Authorization")


@pytest.mark.points(2)
def test_perfil_cabecera_mal_formada(http: HttpClient, secreto: str) -> None:
    """GET /api/perfil con una cabecera mal formada responde 401 (no 500)
    en: GET /api/perfil with a malformed header answers 401 (not 500)
    """
    valido = forjar(secreto, "ana", "estudiante")
    for valor in (
        "Bearer",
        "Basic YW5hOnNlY3JldGExMjM=",
        "Bearer no-es-un-jwt",
        f"Bearer {valido[: len(valido) // 2]}",
    ):
        respuesta = http.get("/api/perfil", headers={"Authorization": valor})
        con_error(respuesta, 401, f"Con la cabecera Authorization: {valor!r}")


@pytest.mark.points(3)
def test_perfil_firma_invalida(http: HttpClient, secreto: str) -> None:
    """GET /api/perfil con un token de firma inválida responde 401
    en: GET /api/perfil with a token with a bad signature answers 401
    """
    otro = forjar("otro-secreto-que-no-es-el-tuyo-ni-se-le-parece", "ana", "estudiante")
    con_error(
        http.get("/api/perfil", headers=bearer(otro)),
        401,
        "Con un token firmado con otro secreto",
    )
    # A genuine token whose payload was edited: the signature no longer matches.
    cabecera, _, firma = forjar(secreto, "ana", "estudiante").split(".")
    iat = int(time.time())
    editado = f"{cabecera}.{b64url({'sub': 'ana', 'rol': 'admin', 'iat': iat, 'exp': iat + 3600})}.{firma}"
    con_error(
        http.get("/api/perfil", headers=bearer(editado)),
        401,
        "Con un token de ana al que se le cambió el rol a admin sin volver a firmarlo",
    )


@pytest.mark.points(3)
def test_perfil_token_caducado(http: HttpClient, secreto: str) -> None:
    """GET /api/perfil con un token caducado responde 401
    en: GET /api/perfil with an expired token answers 401
    """
    caducado = forjar(secreto, "ana", "estudiante", emitido=time.time() - 7200)
    con_error(
        http.get("/api/perfil", headers=bearer(caducado)),
        401,
        "Con un token bien firmado pero que caducó hace una hora",
    )


@pytest.mark.points(3)
def test_perfil_alg_none(http: HttpClient) -> None:
    """GET /api/perfil con un token alg: none (sin firma) responde 401
    en: GET /api/perfil with an alg: none token (unsigned) answers 401
    """
    con_error(
        http.get("/api/perfil", headers=bearer(sin_firma("nico", "admin"))),
        401,
        'Con un token sin firma cuya cabecera dice {"alg": "none"}',
    )


# Admin ---------------------------------------------------------------------------------


@pytest.mark.points(2)
def test_admin_con_rol_admin(http: HttpClient) -> None:
    """GET /api/admin con el token de un admin responde 200 {"ok": true}
    en: GET /api/admin with an admin's token answers 200 {"ok": true}
    """
    _, token = login(http, NICO)
    respuesta = http.get("/api/admin", headers=bearer(token))
    cuerpo = json_con_estado(respuesta, 200, "Con el token del login de nico (admin)")
    assert isinstance(cuerpo, dict) and cuerpo.get("ok") is True, (
        f"Con el token del login de nico (admin): {describir(respuesta)}: "
        'se esperaba {"ok": true}'
    )


@pytest.mark.points(3)
def test_admin_rol_no_admin_403(http: HttpClient, secreto: str) -> None:
    """GET /api/admin con un token válido de otro rol responde 403, no 401
    en: GET /api/admin with a valid token of another role answers 403, not 401
    """
    _, token = login(http, ANA)
    con_error(
        http.get("/api/admin", headers=bearer(token)),
        403,
        "Con el token válido de ana (rol estudiante): está autenticada pero no autorizada",
    )
    con_error(
        http.get("/api/admin", headers=bearer(forjar(secreto, "ana", "estudiante"))),
        403,
        "Con un token válido de ana firmado con JWT_SECRET (rol estudiante)",
    )


@pytest.mark.points(2)
def test_admin_sin_token_valido_401(http: HttpClient) -> None:
    """GET /api/admin sin un token válido responde 401, no 403
    en: GET /api/admin without a valid token answers 401, not 403
    """
    con_error(http.get("/api/admin"), 401, "Sin cabecera Authorization")
    otro = forjar("otro-secreto-que-no-es-el-tuyo-ni-se-le-parece", "nico", "admin")
    con_error(
        http.get("/api/admin", headers=bearer(otro)),
        401,
        "Con un token de admin firmado con otro secreto",
    )


# Hidden --------------------------------------------------------------------------------


@pytest.mark.hidden
@pytest.mark.points(2)
def test_oculto_token_del_admin(http: HttpClient, secreto: str) -> None:
    """El token de nico lleva sub=nico y rol=admin, y su perfil lo dice
    en: nico's token carries sub=nico and rol=admin, and his profile says so
    """
    respuesta, token = login(http, NICO)
    datos = decodificar(token, secreto, respuesta)
    assert datos.get("sub") == "nico" and datos.get("rol") == "admin", (
        f'{describir(respuesta)}: el token de nico debe llevar sub="nico" y rol="admin". '
        f"Contenido: {datos}"
    )
    perfil_esperado(
        http.get("/api/perfil", headers=bearer(token)), "nico", "admin", "Con el token de nico"
    )


@pytest.mark.hidden
@pytest.mark.points(1)
def test_oculto_password_de_otro_usuario(http: HttpClient) -> None:
    """La contraseña de un usuario no sirve para otro
    en: One user's password does not work for another
    """
    respuesta = http.post("/api/login", json={"usuario": "ana", "password": "clave456"})
    con_error(respuesta, 401, "Login de ana con la contraseña de nico")


@pytest.mark.hidden
@pytest.mark.points(2)
def test_oculto_admin_alg_none_y_caducado(http: HttpClient, secreto: str) -> None:
    """GET /api/admin rechaza con 401 un token alg: none y uno de admin caducado
    en: GET /api/admin refuses with 401 an alg: none token and an expired admin token
    """
    con_error(
        http.get("/api/admin", headers=bearer(sin_firma("nico", "admin"))),
        401,
        'Con un token de admin sin firma ({"alg": "none"})',
    )
    caducado = forjar(secreto, "nico", "admin", emitido=time.time() - 7200)
    con_error(
        http.get("/api/admin", headers=bearer(caducado)),
        401,
        "Con un token de admin que caducó hace una hora",
    )


@pytest.mark.hidden
@pytest.mark.points(1)
def test_oculto_admin_con_token_forjado(http: HttpClient, secreto: str) -> None:
    """GET /api/admin acepta un token de admin firmado con JWT_SECRET
    en: GET /api/admin accepts an admin token signed with JWT_SECRET
    """
    respuesta = http.get("/api/admin", headers=bearer(forjar(secreto, "nico", "admin")))
    cuerpo = json_con_estado(respuesta, 200, "Con un token HS256 válido de nico (admin)")
    assert isinstance(cuerpo, dict) and cuerpo.get("ok") is True, (
        f"Con un token HS256 válido de nico (admin): {describir(respuesta)}: "
        'se esperaba {"ok": true}'
    )
