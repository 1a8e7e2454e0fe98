"""The accessibility checks the flows rely on do catch what they claim to catch."""

from __future__ import annotations

from typing import Any

import pytest

from . import a11y

pytestmark = pytest.mark.browser

GOOD = """<!doctype html><html lang="es"><head><title>Bien</title></head>
<body style="background:#fff;color:#1f2328"><main>
<label for="u">Usuario</label><input id="u">
<input aria-label="Buscar" type="search">
<span id="n">Notas</span><textarea aria-labelledby="n"></textarea>
<p>Texto legible <a href="#" style="color:#0550ae">con un enlace</a></p>
<button style="outline:none" class="b">Enviar</button>
<style>.b:focus-visible { box-shadow: 0 0 0 3px #4f46e5; }</style>
</main></body></html>"""


def html(body: str, head: str = "") -> str:
    """A page that is otherwise clean: language, title, a main landmark, white background."""
    return (
        f'<!doctype html><html lang="es"><head><title>t</title>{head}</head>'
        f'<body style="background:#fff"><main>{body}</main></body></html>'
    )


@pytest.fixture
def page(playwright_browser: Any) -> Any:
    context = playwright_browser.new_context()
    yield context.new_page()
    context.close()


def test_a_clean_page_passes(page: Any) -> None:
    page.set_content(GOOD)
    a11y.assert_basics(page)
    assert a11y.assert_focus_visible(page, stops=5)


def test_an_input_without_a_label_is_caught(page: Any) -> None:
    page.set_content(html('<label>Suelto</label><input id="x"><select></select>'))
    with pytest.raises(AssertionError, match="label"):
        a11y.assert_basics(page)


def test_faint_text_is_caught_but_large_text_needs_less(page: Any) -> None:
    page.set_content(html('<p style="color:#949494">gris</p>'))
    with pytest.raises(AssertionError, match="color-contrast"):
        a11y.assert_basics(page)
    # #949494 on white is 3.03:1: too little for body text, enough for large text.
    page.set_content(html('<h1 style="color:#949494;font-size:32px">x</h1>'))
    a11y.assert_basics(page)


def test_text_on_a_dark_panel_is_judged_against_the_panel(page: Any) -> None:
    page.set_content(
        html('<div style="background:#1f2328"><p style="color:#30363d">casi invisible</p></div>')
    )
    with pytest.raises(AssertionError, match="color-contrast"):
        a11y.assert_basics(page)


def test_a_page_under_a_content_security_policy_is_still_checked(page: Any) -> None:
    """The site allows only its own scripts; the check must not be switched off by that."""
    csp = '<meta http-equiv="Content-Security-Policy" content="script-src \'self\'">'
    page.set_content(html("<input>", head=csp))
    with pytest.raises(AssertionError, match="label"):
        a11y.assert_basics(page)


def test_an_excluded_third_party_region_is_not_judged(page: Any) -> None:
    page.set_content(html('<p>Propio</p><div id="ajeno"><input></div>'))
    with pytest.raises(AssertionError, match="label"):
        a11y.assert_basics(page)
    a11y.assert_basics(page, exclude=("#ajeno",))


def test_a_focus_without_a_ring_is_caught(page: Any) -> None:
    page.set_content('<body><button style="outline:none">Sin anillo</button></body>')
    with pytest.raises(AssertionError, match="no visible focus"):
        a11y.assert_focus_visible(page, stops=1)
