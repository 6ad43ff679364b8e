"""Job workers: separate processes that claim queued jobs from the database and run them.

Each worker loads its own models, so a slow cloak keeps one worker busy and never
the server process, which answers anonymize and detect calls on its own. A worker
leaves when its parent (the server) is gone, even after SIGKILL, so the jobs it
held are queued again and resumed, photo by photo, by the next server.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import socket
import threading
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from veil.errors import InputError, VeilError
from veil.service._settings import ServiceSettings
from veil.service._store import Item, Job, Store

__all__ = ["WorkerPool", "is_dead_worker", "run_item"]

logger = logging.getLogger(__name__)

HEARTBEAT_S = 1.0


def worker_name() -> str:
    """``host:pid``: lets a server on the same host see at once that a worker has died."""
    return f"{socket.gethostname()}:{os.getpid()}"


def is_dead_worker(worker: str | None) -> bool:
    """Whether ``worker`` (``host:pid``) is a process of this host that no longer runs."""
    if not worker:
        return True
    host, _, pid_text = worker.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another host's worker: only its heartbeat can tell
    try:
        state = Path(f"/proc/{pid_text}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in {"Z", "X"}  # a zombie has finished; its parent just has not reaped it


def run_item(store: Store, job: Job, item: Item) -> tuple[int, dict[str, Any]]:
    """Run one photo of ``job``: the same library calls as ``veil blur``, ``veil cloak`` and its ``--hide``.

    Returns the faces processed and the JSON result to store.
    """
    source, target = store.input_path(job.id, item), store.output_path(job.id, item)
    options = job.options
    if job.kind == "anonymize":
        from veil.anonymize import BlurWork, blur_file

        work = BlurWork(
            method=options["method"],
            strength=options["strength"],
            expand=options["expand"],
            detector=options["detector"],
            threshold=options["threshold"],
        )
        faces = blur_file(source, target, work, overwrite=True)
        return faces, {"faces": faces}
    if job.kind == "hide":
        from veil.attributes import HideWork, hide_attributes_file

        work_hide = HideWork(**{**options, "judges": tuple(options["judges"])})
        hidden = hide_attributes_file(source, target, work_hide, overwrite=True)
        return sum(face.hidden for face in hidden.faces), hidden.to_dict()
    from veil.cloak import CloakWork, cloak_file, protection_card
    from veil.io import read_image

    work_cloak = CloakWork(
        mode=options["mode"],
        models=tuple(options["models"]),
        detector=options["detector"],
        threshold=options["threshold"],
    )
    cloaked = cloak_file(source, target, work_cloak, overwrite=True)
    result: dict[str, Any] = cloaked.to_dict()
    if options.get("card", True):
        card = protection_card(read_image(source), cloaked)
        store.card_path(job.id, item, ".html").write_text(card.html, encoding="utf-8")
        store.card_path(job.id, item, ".json").write_text(json.dumps(card.to_dict(), indent=2) + "\n")
        result["protected"] = card.protected
    return len(cloaked.faces), result


def _error_text(error: VeilError, item: Item) -> str:
    """The error without the data-directory path: the client knows the photo by its own name."""
    if isinstance(error, InputError):
        return f"{item.name}: {error.reason}"
    return str(error)


def run_job(store: Store, job: Job) -> None:
    """Run the photos of ``job`` that are not done yet (a resumed job skips finished ones)."""
    logger.info("job %s: %s, %d photos (attempt %d)", job.id, job.kind, job.total, job.attempts)
    for item in job.items:
        if item.status != "queued":
            continue
        faces: int | None = None
        result: dict[str, Any] | None = None
        error: str | None = None
        try:
            faces, result = run_item(store, job, item)
        except VeilError as caught:
            error = _error_text(caught, item)
            logger.info("job %s photo %d failed: %s", job.id, item.index, type(caught).__name__)
        except Exception:
            # The edge of the worker: a bug fails this photo, not the worker or the rest of the job.
            logger.exception("job %s photo %d: unexpected error", job.id, item.index)
            error = f"{item.name}: internal error (see the server log)"
        if not store.finish_item(job.id, item.index, faces=faces, result=result, error=error):
            logger.info("job %s was deleted while it ran; stopping", job.id)
            store.remove_files(job.id)  # what this photo wrote after the deletion
            return
    store.finish_job(job.id)
    logger.info("job %s finished", job.id)


def _worker_main(settings: ServiceSettings, parent_pid: int, stop: Event, log_level: int) -> None:
    # Ctrl-C reaches the whole process group; the server decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A spawned process starts with no logging set up: log like the server, to the same stderr.
    logging.basicConfig(
        level=log_level, format=f"%(asctime)s %(levelname)s worker {os.getpid()} %(name)s: %(message)s"
    )
    store = Store(settings)
    name = worker_name()
    current: list[str] = []

    def beat() -> None:
        while not stop.wait(HEARTBEAT_S):
            if os.getppid() != parent_pid:
                # The server died (even SIGKILL): leave now, so a new server can resume our job.
                os._exit(0)
            if current:
                store.heartbeat(current[0], name)

    threading.Thread(target=beat, name="veil-heartbeat", daemon=True).start()
    logger.info("worker %s started", name)
    try:
        while not stop.is_set():
            job = store.claim_job(name)
            if job is None:
                stop.wait(settings.poll_s)
                continue
            current[:] = [job.id]
            try:
                run_job(store, job)
            finally:
                current.clear()
    finally:
        store.close()


class WorkerPool:
    """``settings.workers`` job processes, started and stopped with the server."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._context = multiprocessing.get_context("spawn")  # torch and threads do not survive fork
        self._stop = self._context.Event()
        self._processes: list[SpawnProcess] = []

    def start(self) -> None:
        for index in range(self.settings.workers):
            process = self._context.Process(
                target=_worker_main,
                args=(self.settings, os.getpid(), self._stop, logging.getLogger().getEffectiveLevel()),
                name=f"veil-worker-{index}",
                daemon=True,
            )
            process.start()
            self._processes.append(process)

    def stop(self, timeout_s: float = 3.0) -> None:
        """Ask the workers to stop; a worker busy on a photo is terminated, and its job resumes later."""
        self._stop.set()
        for process in self._processes:
            process.join(timeout_s)
            if process.is_alive():
                process.terminate()
                process.join(timeout_s)
        self._processes.clear()

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self._processes if process.pid is not None]
