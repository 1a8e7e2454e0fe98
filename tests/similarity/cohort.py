"""A generated cohort: independent solutions, and copies of some of them disguised the
ways students disguise them (identifiers renamed, functions moved, comments added,
files merged).

`generate(30)` is the issue's cohort: the 12 independent solutions of solutions.py, and
18 copies of 8 of them. Each student says which solution their code comes from, so a
test knows which pairs are copies.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from tests.similarity.solutions import INDEPENDENT

# What a student renaming variables leaves alone: the language and the libraries.
KEEP = frozenset(
    """
    async await break case catch class const continue default delete do else export
    extends false finally for from function if import in instanceof let new null of
    return static super switch this throw true try typeof undefined var void while yield
    require module exports process console JSON Number String Object Array Map Set Promise
    Error Buffer URL Boolean parseInt express Router http url createServer EventEmitter
    get post delete put patch use listen json status send end location set header
    setHeader writeHead sendStatus route env PORT
    """.split()  # noqa: SIM905 — a word list reads better as words
)

WORDS = [
    "lista", "dato", "valor", "registro", "elemento", "cosa", "total", "entrada",
    "salida", "caja", "nodo", "pieza", "ficha", "item", "clave", "marca", "punto",
]  # fmt: skip

COMMENTS = [
    "// comprobamos los datos de entrada",
    "// aquí se guarda la tarea",
    "// devolvemos la respuesta",
    "// si no existe, 404",
    "// TODO: revisar esto",
    "/* parte importante */",
    "// esto lo hice yo",
    "// ruta para las tareas",
]

TOKEN = re.compile(
    r"(?P<skip>//[^\n]*|/\*.*?\*/|'(?:\\.|[^'\\\n])*'|\"(?:\\.|[^\"\\\n])*\"|`(?:\\.|[^`\\])*`)"
    r"|(?P<name>#?[A-Za-z_$][\w$]*)",
    re.S,
)


def rename(files: dict[str, str], rng: random.Random) -> dict[str, str]:
    """Every identifier the program chose, renamed consistently across its files."""
    mapping: dict[str, str] = {}

    def new_name(old: str) -> str:
        if old not in mapping:
            word = rng.choice(WORDS) + str(len(mapping) + 1)
            mapping[old] = ("#" if old.startswith("#") else "") + word
        return mapping[old]

    def replace(text: str) -> str:
        out, last = [], 0
        for m in TOKEN.finditer(text):
            name = m.group("name")
            if name is None:
                continue
            before = text[: m.start()].rstrip()
            if name.lstrip("#") in KEEP or before.endswith(".") or before.endswith("?."):
                continue
            out.append(text[last : m.start()])
            out.append(new_name(name))
            last = m.end()
        out.append(text[last:])
        return "".join(out)

    return {path: replace(text) for path, text in files.items()}


def reorder(files: dict[str, str], rng: random.Random) -> dict[str, str]:
    """Top-level blocks moved around (the first and the last stay: imports, listen)."""
    out = {}
    for path, text in files.items():
        blocks = text.strip("\n").split("\n\n")
        middle = blocks[1:-1]
        if len(middle) > 1:
            original = list(middle)
            while middle == original:
                rng.shuffle(middle)
        out[path] = "\n\n".join([blocks[0], *middle, blocks[-1]] if len(blocks) > 1 else blocks)
        out[path] += "\n"
    return out


def comment(files: dict[str, str], rng: random.Random) -> dict[str, str]:
    """A comment above about one line in three, and a header."""
    out = {}
    for path, text in files.items():
        lines = ["// Práctica de la API de tareas", ""]
        for line in text.splitlines():
            if line.strip() and rng.random() < 0.34:
                indent = line[: len(line) - len(line.lstrip())]
                lines.append(indent + rng.choice(COMMENTS))
            lines.append(line)
        out[path] = "\n".join(lines) + "\n"
    return out


def merge(files: dict[str, str], rng: random.Random) -> dict[str, str]:
    """Every file pasted into one."""
    return {"index.js": "\n".join(files[p] for p in sorted(files, reverse=True))}


TRANSFORMS = {"rename": rename, "reorder": reorder, "comment": comment, "merge": merge}

# (source solution, disguises applied) for each copy in the 30-student cohort.
COPIES: list[tuple[int, tuple[str, ...]]] = [
    (0, ("rename",)),
    (0, ("reorder",)),
    (0, ("comment",)),
    (0, ("rename", "reorder", "comment")),
    (1, ("rename", "comment")),
    (1, ("reorder",)),
    (1, ("rename", "reorder", "comment")),
    (2, ("rename",)),
    (2, ("merge", "comment")),
    (2, ("rename", "reorder", "comment")),
    (3, ("rename", "reorder")),
    (3, ("comment", "rename")),
    (4, ("rename", "reorder", "comment")),
    (4, ("reorder",)),
    (5, ("rename", "comment")),
    (5, ("reorder", "rename")),
    (6, ("rename", "reorder", "comment")),
    (9, ("rename", "reorder", "comment")),
]


@dataclass(frozen=True)
class Student:
    username: str
    files: dict[str, str]
    source: int  # which independent solution the code comes from
    copied: bool  # False for the solution's own author


def disguise(files: dict[str, str], transforms: tuple[str, ...], seed: int) -> dict[str, str]:
    rng = random.Random(seed)  # noqa: S311 — reproducible disguises, not secrets
    for name in transforms:
        files = TRANSFORMS[name](files, rng)
    return files


def generate(size: int = 30, seed: int = 25) -> list[Student]:
    """The independent authors first, then copies: COPIES, and beyond 30 students more
    copies of random solutions with random disguises."""
    rng = random.Random(seed)  # noqa: S311
    students = [
        Student(f"autor{i + 1:02d}", dict(files), i, copied=False)
        for i, files in enumerate(INDEPENDENT)
    ][:size]
    plan = list(COPIES)
    while len(students) + len(plan) < size:
        chosen = tuple(t for t in ("rename", "reorder", "comment") if rng.random() < 0.7)
        plan.append((rng.randrange(len(INDEPENDENT)), chosen or ("rename",)))
    for n, (source, transforms) in enumerate(plan[: max(0, size - len(students))]):
        files = disguise(dict(INDEPENDENT[source]), transforms, seed * 1000 + n)
        students.append(Student(f"copia{n + 1:02d}", files, source, copied=True))
    return students
