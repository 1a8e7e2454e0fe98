"""The container engine the docker backend talks to: where it is, a client, what it is.

One Docker Engine API client per run, but what an engine is does not change while a
worker runs, so its API version, whether it is podman and its cgroup manager are asked
once per engine (URL) and process.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

from taller_grader.sandbox import seccomp
from taller_grader.sandbox.api import SandboxError

try:  # the SDK is only needed by this backend; bwrap-only workers may lack it
    import docker
    import docker.errors
    import docker.types
except ImportError:  # pragma: no cover - reported when a client is asked for
    docker = None  # type: ignore[assignment]

DEFAULT_URL = "unix:///run/taller-podman/podman.sock"
DEFAULT_IMAGE = "taller-runtime:local"
API_TIMEOUT = 30.0


def docker_url() -> str:
    return os.environ.get("TALLER_DOCKER_URL", DEFAULT_URL)


def docker_image() -> str:
    return os.environ.get("TALLER_RUNTIME_IMAGE", DEFAULT_IMAGE)


_API_VERSIONS: dict[str, str] = {}
_VERSIONS_LOCK = threading.Lock()


def connect(url: str | None = None, timeout: float = API_TIMEOUT) -> Any:
    """A client of the engine at `url`; SandboxError if the SDK or the engine is missing.

    The API version is negotiated once per URL and process: podman answers /version in
    ~0.85 s, which would otherwise be paid by every run. $TALLER_DOCKER_API_VERSION pins it.
    """
    if docker is None:
        raise SandboxError("the docker backend needs the `docker` Python package")
    url = url or docker_url()
    try:
        with _VERSIONS_LOCK:
            version = os.environ.get("TALLER_DOCKER_API_VERSION") or _API_VERSIONS.get(url)
            client = docker.DockerClient(
                base_url=url, timeout=int(timeout), version=version or "auto"
            )
            _API_VERSIONS[url] = client.api.api_version
        client.ping()
        client.taller_url = url  # the cache key below: base_url hides the socket path
    except docker.errors.DockerException as exc:
        raise SandboxError(f"no container engine answers at {url}: {exc}") from exc
    return client


def ulimits() -> list[Any]:
    """Every container's. Explicit, since a list given replaces the engine's defaults
    (podman then asks runc for nofile=1M, which fails here), and one without nproc is
    refused by runc (EPERM) here."""
    return [
        docker.types.Ulimit(name="core", soft=0, hard=0),
        docker.types.Ulimit(name="nofile", soft=1024, hard=1024),
        # Counted per uid over the whole host (every run is uid 1000): only a backstop;
        # pids_limit is the per-container bound.
        docker.types.Ulimit(name="nproc", soft=4096, hard=4096),
    ]


def _engine_key(client: Any) -> str:
    # For every unix socket the SDK's base_url is "http+docker://localhost".
    return str(getattr(client, "taller_url", client.api.base_url))


_PODMAN: dict[str, bool] = {}


def is_podman(client: Any) -> bool:
    """Podman's compat API reads `seccomp=` as a file path; Docker wants the JSON itself."""
    key = _engine_key(client)
    if key not in _PODMAN:
        response = client.api.get(f"{client.api.base_url}/_ping")
        _PODMAN[key] = any(name.lower().startswith("libpod-") for name in response.headers)
    return _PODMAN[key]


_DRIVERS: dict[str, str] = {}


def cgroup_driver(client: Any) -> str:
    """The engine's cgroup manager ("cgroupfs", "systemd"), asked once per URL."""
    key = _engine_key(client)
    if key not in _DRIVERS:
        try:
            _DRIVERS[key] = str(client.info().get("CgroupDriver", ""))
        except Exception:
            _DRIVERS[key] = ""
    return _DRIVERS[key]


def seccomp_option(client: Any, state_dir: Path) -> str:
    """The `security_opt` entry that gives a container the project's seccomp profile."""
    profile = seccomp.container_profile()
    if not is_podman(client):
        return f"seccomp={profile}"
    digest = hashlib.sha256(profile.encode()).hexdigest()[:16]
    path = state_dir / f"taller-seccomp-{digest}.json"
    if not path.exists():
        state_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(profile, encoding="utf-8")
        os.replace(temp, path)  # atomic: a concurrent worker reads all of it or none
    return f"seccomp={path}"
