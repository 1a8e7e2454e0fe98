"""Grader suite for `ssr` (docs/exercises.md, section 2).

Only the HTML as first served counts: no JavaScript runs here. Elements are compared by
their text (React may put `<!-- -->` between text parts), never as raw HTML.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from taller_grader.sdk.http import HttpClient, Response

XSS = "<script>alert(1)</script>"


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    parents: tuple[str, ...] = ()


class Page(HTMLParser):
    """The elements of an HTML page, each with all the text inside it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(
            tag, {k: v or "" for k, v in attrs}, parents=tuple(e.tag for e in self._open)
        )
        self.elements.append(element)
        if tag not in {"meta", "link", "br", "img", "input", "hr"}:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                return

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    def find(self, tag: str, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.elements
            if e.tag == tag and all(e.attrs.get(k) == v for k, v in attrs.items())
        ]


def page(http: HttpClient, path: str) -> tuple[Response, Page]:
    respuesta = http.get(path, timeout=15)
    respuesta.expect_status(200)
    parsed = Page()
    parsed.feed(respuesta.text)
    return respuesta, parsed


def hora(http: HttpClient) -> datetime:
    _, html = page(http, "/")
    elementos = html.find("time", id="hora-servidor")
    assert elementos, 'GET /: el HTML no tiene un elemento <time id="hora-servidor">'
    texto = elementos[0].text.strip()
    try:
        valor = datetime.fromisoformat(texto.replace("Z", "+00:00"))
    except ValueError:
        raise AssertionError(
            f'GET /: el texto de <time id="hora-servidor"> es {texto!r}, no una fecha ISO-8601 '
            "(¿se calcula en el navegador? Aquí no se ejecuta JavaScript)"
        ) from None
    return valor if valor.tzinfo else valor.replace(tzinfo=UTC)


@pytest.mark.points(3)
def test_hora_en_el_html(http: HttpClient) -> None:
    """GET / trae la hora de la petición en <time id="hora-servidor">, en el primer HTML
    en: GET / brings the request's time in <time id="hora-servidor">, in the first HTML
    """
    valor = hora(http)
    desfase = abs((datetime.now(UTC) - valor).total_seconds())
    assert desfase < 10, f"GET /: la hora del HTML está {desfase:.0f} s desfasada del reloj"


@pytest.mark.points(3)
def test_hora_cambia_en_cada_peticion(http: HttpClient) -> None:
    """La hora se calcula en cada petición (getServerSideProps), no al construir
    en: The time is computed on each request (getServerSideProps), not at build time
    """
    primera = hora(http)
    time.sleep(1.1)
    segunda = hora(http)
    assert segunda > primera, (
        f"GET / dos veces, con un segundo entre medio: la hora no cambió ({primera.isoformat()}); "
        "¿se calcula al construir (getStaticProps) en lugar de en cada petición?"
    )


@pytest.mark.points(3)
def test_saludo_con_nombre(http: HttpClient) -> None:
    """GET /saludo?nombre=Ana responde un <h1> con el texto «Hola, Ana»
    en: GET /saludo?nombre=Ana answers an <h1> with the text «Hola, Ana»
    """
    _, html = page(http, "/saludo?nombre=Ana")
    titulos = [h.text.strip() for h in html.find("h1")]
    assert "Hola, Ana" in titulos, (
        f"GET /saludo?nombre=Ana: se esperaba <h1>Hola, Ana</h1>; hay {titulos}"
    )


@pytest.mark.points(2)
def test_saludo_sin_nombre(http: HttpClient) -> None:
    """Sin nombre, el saludo es «Hola, invitado»
    en: Without a name, the greeting is «Hola, invitado»
    """
    _, html = page(http, "/saludo")
    titulos = [h.text.strip() for h in html.find("h1")]
    assert "Hola, invitado" in titulos, (
        f"GET /saludo: se esperaba <h1>Hola, invitado</h1>; hay {titulos}"
    )


@pytest.mark.points(3)
def test_nombre_escapado(http: HttpClient) -> None:
    """El nombre se escapa: no puede crear un elemento <script>
    en: The name is escaped: it cannot create a <script> element
    """
    _, html = page(http, "/saludo?nombre=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    # Next's own data script carries the name as JSON text; an injected one *is* the code.
    inyectados = [s for s in html.find("script") if s.text.strip() == "alert(1)"]
    assert not inyectados, (
        f"GET /saludo?nombre={XSS}: el HTML tiene un <script> con alert(1): el nombre no se escapó "
        "(¿dangerouslySetInnerHTML?)"
    )
    titulos = [h.text.strip() for h in html.find("h1")]
    assert f"Hola, {XSS}" in titulos, f"el <h1> debe mostrar el nombre como texto; hay {titulos}"


@pytest.mark.points(2)
@pytest.mark.parametrize("ruta", ["/", "/saludo?nombre=Ana"])
def test_title_propio(http: HttpClient, ruta: str) -> None:
    """Cada página tiene su <title> en el primer HTML ({ruta})
    en: Every page has its own <title> in the first HTML ({ruta})
    """
    _, html = page(http, ruta)
    titulos = [t.text.strip() for t in html.find("title") if "head" in t.parents]
    assert titulos and titulos[0], f"GET {ruta}: no hay <title> dentro de <head> (usa next/head)"


@pytest.mark.hidden
@pytest.mark.points(1)
def test_titles_distintos(http: HttpClient) -> None:
    """Las dos páginas tienen títulos distintos
    en: The two pages have different titles
    """
    _, inicio = page(http, "/")
    _, saludo = page(http, "/saludo?nombre=Ana")
    a = [t.text.strip() for t in inicio.find("title")]
    b = [t.text.strip() for t in saludo.find("title")]
    assert a and b and a[0] != b[0], f"los títulos deben ser propios de cada página: {a} y {b}"


@pytest.mark.hidden
@pytest.mark.points(1)
def test_nombre_con_acentos(http: HttpClient) -> None:
    """Un nombre con acentos y espacios se muestra tal cual
    en: A name with accents and spaces is shown as it is
    """
    _, html = page(http, "/saludo?nombre=Luc%C3%ADa%20P%C3%A9rez")
    titulos = [h.text.strip() for h in html.find("h1")]
    assert "Hola, Lucía Pérez" in titulos, f"se esperaba <h1>Hola, Lucía Pérez</h1>; hay {titulos}"
