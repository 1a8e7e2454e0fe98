"""docker-compose.yml, .env.example and the Dockerfiles, checked without an engine.

The compose file is validated against the Compose Specification's JSON schema (the copy
check-jsonschema vendors, with its licence, as `vendor.compose-spec`), then against what
the platform itself needs: the settings' names, health checks, start-up order, secrets.
Where a compose binary exists, it is used too. With podman, the images are built (from
the official base images where present, else from scripts/base-images.sh's stand-ins,
made from Debian's mirror) and each is run once.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import typing
from functools import cache
from pathlib import Path
from typing import Any

import dockerfile
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
PLATFORM_IMAGE = "taller-platform"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|^KEY$|PASS$")
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?:(:?[-?+])([^}]*))?\}")
CREDENTIALS_IN_URL = re.compile(r"^[a-z+]+://[^:/@]+:(?P<password>[^@]*)@")


@cache
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())  # merges the << anchors
    return loaded


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def platform_services() -> dict[str, dict[str, Any]]:
    return {n: s for n, s in services().items() if s.get("image") == PLATFORM_IMAGE}


@cache
def env_example() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def check_jsonschema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", path],
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- The Compose Specification ---


def test_the_compose_file_follows_the_compose_specification() -> None:
    checked = check_jsonschema(COMPOSE)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_schema_check_rejects_what_compose_would_reject(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    # A misspelt key and a health check without its test: both refused by compose.
    broken.write_text("services:\n  web:\n    image: x\n    helthcheck: {}\n")
    assert check_jsonschema(broken).returncode != 0
    broken.write_text("services:\n  web:\n    image: x\n    depends_on: {db: {condition: up}}\n")
    assert check_jsonschema(broken).returncode != 0


def compose_binary() -> list[str] | None:
    """Compose v2, the implementation of the Compose Specification. Debian's
    `docker-compose` 1.29 predates it and refuses valid files (`cgroup`, top-level `name`)."""
    docker = shutil.which("docker")
    for binary in ([docker, "compose"] if docker else [], ["docker-compose"]):
        if not binary or shutil.which(binary[0]) is None:
            continue
        version = subprocess.run([*binary, "version", "--short"], capture_output=True, text=True)
        if version.returncode == 0 and version.stdout.strip().lstrip("v").startswith("2"):
            return binary
    return None


def test_docker_compose_config_accepts_it_with_the_example_env(tmp_path: Path) -> None:
    binary = compose_binary()
    if binary is None:
        pytest.skip("no docker compose binary here (the schema test above covers the format)")
    # As an operator would have it: the compose file next to a .env made from the example.
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env")
    result = subprocess.run(
        [*binary, "config", "--quiet"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


# --- The platform's invariants ---


def test_every_service_has_a_health_check_or_is_a_one_shot_others_wait_for() -> None:
    awaited = {
        target
        for service in services().values()
        for target, how in (service.get("depends_on") or {}).items()
        if how.get("condition") == "service_completed_successfully"
    }
    for name, service in services().items():
        if name in awaited:
            assert service.get("restart") == "no", f"{name}: a one-shot must not restart"
            assert "healthcheck" not in service
        else:
            assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"


def test_dependencies_exist_and_wait_for_the_right_thing() -> None:
    for name, service in services().items():
        for target, how in (service.get("depends_on") or {}).items():
            assert target in services(), f"{name} depends on unknown {target}"
            if how["condition"] == "service_healthy":
                assert "healthcheck" in services()[target], f"{name}: {target} has no check"
    # Nothing of the platform starts before migrations and the course sync have run.
    migrate = services()["migrate"]
    assert "migrate --noinput" in " ".join(migrate["command"])
    assert "sync_exercises" in " ".join(migrate["command"])
    for name in set(platform_services()) - {"migrate"}:
        condition = services()[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name


def settings_required_in_production() -> set[str]:
    """The env vars read without a default by base.py and production.py."""
    required = set()
    for module in ("base", "production"):
        tree = ast.parse((REPO / f"platform/taller/settings/{module}.py").read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "env"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and not any(k.arg == "default" for k in node.keywords)
            ):
                required.add(node.args[0].value)
    return required


@cache
def names_the_code_reads() -> set[str]:
    """Every env var name read by the platform and the grader (settings, os.environ)."""
    names = {"DJANGO_SETTINGS_MODULE"}
    sources = [*REPO.glob("platform/taller/**/*.py"), *REPO.glob("graders/taller_grader/**/*.py")]
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                func = ast.unparse(node.func)
                if func.startswith(("env.", "environ.Env().", "os.environ.", "os.getenv")):
                    names.add(str(node.args[0].value))
            elif (
                isinstance(node, ast.Subscript)
                and ast.unparse(node.value) == "os.environ"
                and isinstance(node.slice, ast.Constant)
            ):
                names.add(str(node.slice.value))
    return names


def test_settings_the_production_settings_require_reach_every_platform_service() -> None:
    required = settings_required_in_production()
    assert {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"} <= required
    for name, service in platform_services().items():
        provided = set(service.get("environment", {}))
        if service.get("env_file") == ".env":
            provided |= set(env_example())
        assert required <= provided, f"{name} lacks {sorted(required - provided)}"
        assert service["environment"]["DJANGO_SETTINGS_MODULE"] == "taller.settings.production"


def test_every_name_given_to_the_platform_is_one_the_code_reads() -> None:
    """A misspelt name would be ignored silently and the default used instead."""
    for name, service in platform_services().items():
        unknown = set(service.get("environment", {})) - names_the_code_reads()
        assert not unknown, f"{name}: nobody reads {sorted(unknown)}"
    interpolated = set(INTERPOLATION.findall(COMPOSE.read_text()))
    used = names_the_code_reads() | {m[0] for m in interpolated}
    unused = set(env_example()) - used
    assert not unused, f".env.example: nobody reads {sorted(unused)}"


def test_the_workers_are_set_up_for_the_docker_sandbox_and_the_run_servers() -> None:
    runtime_image = services()["runtime"]["image"]
    for name in ("worker", "worker-heavy"):
        worker = services()[name]
        env = worker["environment"]
        assert env["TALLER_SANDBOX_BACKEND"] == "docker"
        assert env["TALLER_RUNTIME_IMAGE"] == runtime_image
        socket = env["TALLER_DOCKER_URL"].removeprefix("unix://")
        mounts = {v["target"]: v for v in worker["volumes"]}
        assert mounts[socket]["source"] == socket
        # The engine binds run directories from the host: same path, shared both ways.
        state = mounts[env["TALLER_SANDBOX_STATE_DIR"]]
        assert state["source"] == state["target"] and state["bind"]["propagation"] == "rshared"
        assert worker["pid"] == "host" and worker["privileged"] is True
        assert env["TALLER_RUNS_POSTGRES_DSN"].split("@")[1].startswith("runs-db:")
        assert env["TALLER_RUNS_MONGODB_URI"].split("@")[1].startswith("mongo:")
        assert env["TALLER_RUNS_RABBITMQ_HOST"] == "rabbitmq"
        for server in ("runs-db", "mongo", "rabbitmq", "runtime"):
            assert server in worker["depends_on"], f"{name} does not wait for {server}"


def test_every_queue_an_exercise_can_use_has_a_worker() -> None:
    from taller_grader.manifest import RunSpec

    queues = set(typing.get_args(RunSpec.model_fields["queue"].annotation))
    assert queues == {"grading", "heavy"}
    consumed = set()
    for service in platform_services().values():
        command = " ".join(service["command"])
        if " worker " in f" {command} ":
            consumed |= set(re.search(r"-Q (\S+)", command)[1].split(","))  # type: ignore[index]
    # The reaper's own queue is consumed by the one process that runs beat.
    assert consumed == queues | {"reaper"}
    beat = " ".join(services()["beat"]["command"])
    assert " -B " in beat and "-Q reaper " in beat


def test_no_secret_is_written_in_the_compose_file() -> None:
    for name, service in services().items():
        for key, value in (service.get("environment") or {}).items():
            text = str(value)
            if SECRET_NAME.search(key):
                assert INTERPOLATION.fullmatch(text), f"{name}.{key} is written inline"
            url = CREDENTIALS_IN_URL.match(text)
            if url:
                assert INTERPOLATION.fullmatch(url["password"]), f"{name}.{key}: password inline"
    # Secrets are required (${X:?...}), never silently empty, and all come from .env.
    for variable, operator, _ in INTERPOLATION.findall(COMPOSE.read_text()):
        if SECRET_NAME.search(variable):
            assert operator == ":?", f"${{{variable}}} may be empty"
        if operator in ("", ":?", "?"):
            assert variable in env_example(), f"${{{variable}}} is not in .env.example"


def test_the_env_file_stays_out_of_git_and_of_the_image() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", ".env"], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert tracked.stdout == ""
    assert ".env" in (REPO / ".gitignore").read_text().split()
    assert ".env" in (REPO / ".dockerignore").read_text().split()
    # The example's secrets are visibly placeholders, so nobody deploys them as they are.
    for key, value in env_example().items():
        if SECRET_NAME.search(key):
            assert "change-me" in value, key


# --- The images ---


def images_built() -> dict[str, Path]:
    """image → Dockerfile, for every image the compose file builds."""
    built = {}
    for service in services().values():
        if "build" in service:
            build = service["build"]
            context = REPO / (build if isinstance(build, str) else build["context"])
            name_in_context = "Dockerfile" if isinstance(build, str) else build.get("dockerfile")
            built[service["image"]] = context / (name_in_context or "Dockerfile")
    return built


@pytest.mark.parametrize("path", sorted({str(p) for p in images_built().values()}))
def test_the_dockerfiles_parse_and_copy_only_what_exists(path: str) -> None:
    commands = dockerfile.parse_file(path)  # BuildKit's own parser
    context = Path(path).parent
    assert next(c.cmd for c in commands if c.cmd != "ARG") == "FROM"
    assert any(c.cmd in ("CMD", "ENTRYPOINT") for c in commands)
    ignored = (
        set((context / ".dockerignore").read_text().split())
        if context.joinpath(".dockerignore").exists()
        else set()
    )
    for command in commands:
        assert not (command.cmd == "ADD" and "://" in command.original), command.original
        if command.cmd == "COPY" and not any(f.startswith("--from") for f in command.flags):
            for source in command.value[:-1]:
                assert (context / source).exists(), f"{command.original}: {source} is missing"
                assert source not in ignored, f"{command.original}: {source} is ignored"


def podman(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """podman with the project's own storage and flags (scripts/podman-env.sh)."""
    script = 'source scripts/podman-env.sh && taller_podman "$@"'
    return subprocess.run(
        ["bash", "-c", script, "podman", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# What scripts/base-images.sh makes where Debian's mirror is reachable but no registry is,
# for the build arguments the Dockerfiles take their base images from.
STAND_INS = {
    "PYTHON_IMAGE": "localhost/taller-base/python:3.11-bookworm",
    "NODE_IMAGE": "localhost/taller-base/node:20-bookworm",
    "DEBIAN_IMAGE": "localhost/taller-base/debian:bookworm-slim",
}
# Production settings, none of them real: enough for Django's deployment checks.
CHECK_ENV = {
    "SECRET_KEY": "image-check-only-" + "x" * 50,
    "ALLOWED_HOSTS": "taller.example.org",
    "DATABASE_URL": "postgres://taller:unused@db:5432/taller",
    "REDIS_URL": "redis://redis:6379/0",
}


def base_image_args(path: Path) -> dict[str, str]:
    """The Dockerfile's arguments declared before its first FROM, with their defaults."""
    args: dict[str, str] = {}
    for command in dockerfile.parse_file(str(path)):
        if command.cmd == "FROM":
            break
        if command.cmd == "ARG":
            name, _, default = command.value[0].partition("=")
            args[name] = default
    return args


def smoke_run(image: str) -> tuple[list[str], list[str]]:
    """What proves the built image works, as (podman run options, command): the compose
    file's own check for an image it runs as a one-shot needing no other service, else
    Django's deployment checks with the production settings."""
    for service in services().values():
        alone = service.get("restart") == "no" and not service.get("depends_on")
        if alone and service.get("image") == image and "command" in service:
            return [], list(service["command"])
    env = [f"--env={name}={value}" for name, value in CHECK_ENV.items()]
    return env, ["python", "manage.py", "check", "--deploy", "--fail-level", "WARNING"]


# Two image builds that install from Debian, PyPI and npm: minutes on a machine whose layer
# cache is empty (CI's first run), far beyond the suite's 120 s per test.
@pytest.mark.timeout(2 * 1200 + 2 * 120 + 60)
def test_the_images_build_and_run() -> None:
    if shutil.which("podman") is None:
        pytest.skip("no container engine here")
    for image, path in images_built().items():
        chosen: dict[str, str] = {}
        for name, official in base_image_args(path).items():
            if podman("image", "exists", official).returncode == 0:
                chosen[name] = official
            elif name in STAND_INS and podman("image", "exists", STAND_INS[name]).returncode == 0:
                chosen[name] = STAND_INS[name]
            else:
                pytest.skip(
                    f"{image}: base image {official} is not in local storage, no registry is "
                    "reachable, and scripts/base-images.sh has not made its stand-in"
                )
        froms = [c.value[0] for c in dockerfile.parse_file(str(path)) if c.cmd == "FROM"]
        assert all(f.startswith("${") for f in froms), f"{path}: a base image not taken as an ARG"
        tag = f"{image.split(':')[0]}-test"
        # The network is the host's: RUN steps install from Debian, PyPI and npm.
        built = podman(
            "build", "--pull=never", "--network=host", "-q", "-f", path, "-t", tag,
            *(f"--build-arg={name}={value}" for name, value in chosen.items()),
            path.parent,
            timeout=1200,
        )  # fmt: skip
        assert built.returncode == 0, built.stderr[-3000:]
        options, argv = smoke_run(image)
        ran = podman("run", "--rm", "--network=none", *options, tag, *argv, timeout=120)
        assert ran.returncode == 0, f"{image}: {argv}\n{ran.stdout[-2000:]}{ran.stderr[-2000:]}"
        web = services()["web"]
        if web.get("image") == image:  # the web service's launcher is in its image
            ran = podman("run", "--rm", "--network=none", tag, web["command"][0], "--help")
            assert ran.returncode == 0, f"{image}: {ran.stdout[-2000:]}{ran.stderr[-2000:]}"
