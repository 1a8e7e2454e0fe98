"""Guards on the project's layout that would otherwise break in confusing ways."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_platform_is_still_the_standard_library_module() -> None:
    import platform

    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    assert Path(platform.__file__).resolve().parent == stdlib
    assert platform.python_version().startswith("3.")


def test_platform_folder_is_a_source_root_not_a_package() -> None:
    assert not (REPO / "platform" / "__init__.py").exists()
    assert (REPO / "platform" / "taller" / "__init__.py").is_file()


def test_uuid_imports_from_the_checkout_root() -> None:
    # `import uuid` reaches for `platform`; from the repo root a shadowing package
    # would break it. Run it as a newcomer would, from the checkout.
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import uuid, platform; print(uuid.uuid4().version, platform.system())",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "4"


def test_queries_stay_portable_to_the_embedded_sqlite() -> None:
    """`make run` serves from SQLite while CI tests on PostgreSQL: a DISTINCT ON
    (`.distinct("field")`) would pass every test here and break the embedded site."""
    import re

    distinct_on = re.compile(r"\.distinct\(\s*[\"']")
    offenders = [
        f"{path.relative_to(REPO)}:{number}"
        for path in (REPO / "platform" / "taller").rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if distinct_on.search(line)
    ]
    assert offenders == []
