"""`qa serve`: registered on the main app (see qa/service/app.py).

Flags override `QA_*` environment variables (qa/service/settings.py). The index is checked before the
server starts (a missing or unsupported index is one line and exit 2); the model and index then
load once in the background while `/v1/healthz` already answers and `/v1/readyz` says 503.

SIGHUP reloads the index at the configured path (see `qa.service.app`: verified, warmed up, then swapped in
atomically; a bad index is logged and the old one keeps serving). uvicorn closes idle keep-alive
connections after ``keep_alive_s`` and answers 503 beyond ``max_connections``.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from qa.cli.common import app, err, fail


def _announce(settings, engine) -> None:
    """Called once the index is loaded and warmed up: only now do questions work, so say so now."""
    print(f"serving on http://{settings.host}:{settings.port}/  (index {engine.index_id}, {len(engine.data.docs)} "
          "documents; open it to try the chat widget, Ctrl-C stops)", flush=True)


def _settings(given: dict):
    """The service's settings: the flags given, over the ``QA_*`` environment; one line if invalid."""
    from pydantic import ValidationError

    from qa.service.settings import Settings

    try:
        return Settings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as e:
        problems = "; ".join((f"{'.'.join(map(str, err['loc']))}: " if err["loc"] else "")
                             + err["msg"].removeprefix("Value error, ") for err in e.errors())
        fail(f"invalid setting: {problems}")


def _serve_on_ray(settings, address: str, replicas: int, replica_cpus: float) -> None:
    """Start the replicas (`qa.cluster.serve`), say where, and stop them on Ctrl-C or SIGTERM."""
    import threading

    if settings.workers > 1:
        fail("--workers is for one machine; with --ray, say how many processes with --replicas")

    from qa.cluster import serve as ray_serve
    from qa.embed import EmbedderError

    try:
        ray_serve.start(address, settings, replicas, replica_cpus)
    except (EmbedderError, RuntimeError) as e:
        fail(str(e))
    print(f"serving on http://{settings.host}:{settings.port}/  ({replicas} Ray Serve replicas on {address}; "
          "each reloads when the index changes; Ctrl-C stops)", flush=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: done.set())
    done.wait()
    ray_serve.stop()


def _uvicorn_options(settings) -> dict:
    """What every `qa serve` runs uvicorn with, one process or several."""
    return dict(host=settings.host, port=settings.port, log_config=None, access_log=False, proxy_headers=False,
                server_header=False, timeout_graceful_shutdown=5, timeout_keep_alive=settings.keep_alive_s,
                limit_concurrency=settings.max_connections)


def _worker_env(given: dict) -> dict[str, str]:
    """The flags given, as the ``QA_*`` variables each worker process reads its settings from."""
    env = {}
    for name, value in given.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        # absolute, not resolved: the index path is a link `qa index` swaps, and a reload follows it
        env[f"QA_{name.upper()}"] = str(Path(value).absolute()) if name == "index" else str(value)
    return env


def worker_app():
    """The app of one `qa serve --workers N` process (uvicorn calls this in each one), its settings
    from the environment the parent set. The index loads before the process takes connections, so
    a worker still loading is never the one a request reaches; one that cannot load stops them all."""
    import os

    from uvicorn.config import STARTUP_FAILURE

    from qa.service.app import create_app
    from qa.service.logs import configure_logging
    from qa.service.settings import Settings

    settings = Settings()
    configure_logging(settings.log_level)
    api = create_app(settings, on_ready=lambda eng: print(
        f"serving on http://{settings.host}:{settings.port}/  (worker {os.getpid()} of {settings.workers}, index "
        f"{eng.index_id}, {len(eng.data.docs)} documents; Ctrl-C stops)", flush=True))
    service = api.state.service
    service.load()
    if service.load_error is not None:
        sys.exit(STARTUP_FAILURE)  # uvicorn's supervisor then stops, instead of restarting it forever
    signal.signal(signal.SIGHUP, lambda signum, frame: service.reload_in_background("SIGHUP"))
    return api


def _serve_workers(settings, given: dict) -> None:
    """``settings.workers`` processes on one socket (uvicorn's supervisor restarts one that dies).
    SIGHUP to this process reloads the index in every worker, each in place as one process does."""
    import os

    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    from qa.config import set_qa_variables

    class Workers(Multiprocess):
        def handle_hup(self) -> None:  # uvicorn's own would restart them, each answering 503 while it loads
            for process in self.processes:
                if process.pid:
                    os.kill(process.pid, signal.SIGHUP)

    if settings.rate_limit_per_minute and settings.redis_url is None:
        err.print(f"[yellow]warning:[/] each of the {settings.workers} workers counts a client's requests on its "
                  f"own, so a client may reach {settings.workers}x QA_RATE_LIMIT_PER_MINUTE; set QA_REDIS_URL to "
                  "share one count", highlight=False)
    set_qa_variables(_worker_env(given))
    config = uvicorn.Config("qa.cli.serve:worker_app", factory=True, workers=settings.workers, **_uvicorn_options(settings))
    supervisor = Workers(config, sockets=[config.bind_socket()])
    supervisor.run()
    if any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes):
        fail("a worker could not load the index (its error is above)")


@app.command(short_help="Serve the HTTP API and the chat widget.")
def serve(
    index_dir: Annotated[Optional[Path], typer.Option("--index", help="Index folder (env QA_INDEX; default index/default).")] = None,
    host: Annotated[Optional[str], typer.Option(help="Interface to listen on (env QA_HOST; default 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (env QA_PORT; default 8000).")] = None,
    cors_origins: Annotated[Optional[str], typer.Option(
        "--cors-origins", help="Origins allowed to embed the widget: JSON list or comma-separated (env QA_CORS_ORIGINS).")] = None,
    docs: Annotated[Optional[bool], typer.Option("--docs/--no-docs", help="Serve OpenAPI docs (env QA_DOCS).")] = None,
    log_level: Annotated[Optional[str], typer.Option(help="debug, info, warning, error (env QA_LOG_LEVEL).")] = None,
    ray: Annotated[Optional[str], typer.Option(
        "--ray", help="Serve as Ray Serve replicas on the cluster at auto (the one `ray start` runs here), "
        "local or HOST:PORT, behind Ray's HTTP proxy on --host/--port. Needs pip install -e '.[cluster]'; "
        "see docs/scale.md.")] = None,
    replicas: Annotated[int, typer.Option(min=1, max=256, help="With --ray: replicas of the app.")] = 2,
    replica_cpus: Annotated[float, typer.Option(min=0.1, help="With --ray: CPUs reserved for each replica.")] = 1.0,
    workers: Annotated[Optional[int], typer.Option(
        help="Server processes on this machine sharing the port (env QA_WORKERS; default 1): set it to the cores "
        "to use; each holds its own copy of the index's texts.")] = None,
) -> None:
    """Serve the HTTP API and the chat widget (GET / is a demo page that embeds it)."""
    import uvicorn

    from qa.service.app import create_app
    from qa.service.logs import configure_logging
    from qa.index.store import IndexError_, read_manifest

    given = {"index": index_dir, "host": host, "port": port, "cors_origins": cors_origins, "docs": docs,
             "log_level": log_level, "workers": workers}
    settings = _settings(given)
    try:
        read_manifest(settings.index)
    except IndexError_ as e:
        fail(str(e))

    configure_logging(settings.log_level)
    if ray:
        return _serve_on_ray(settings, ray, replicas, replica_cpus)
    if settings.workers > 1:
        return _serve_workers(settings, given)
    failed: list[Exception] = []
    server: uvicorn.Server | None = None

    def on_load_error(e: Exception) -> None:
        failed.append(e)
        if server is not None:
            server.should_exit = True

    try:
        api = create_app(settings, on_load_error=on_load_error, on_ready=lambda eng: _announce(settings, eng))
    except ValueError as e:  # a QA_CALIBRATION file that is missing, invalid or for another model
        fail(str(e))
    config = uvicorn.Config(api, **_uvicorn_options(settings))
    server = uvicorn.Server(config)
    # uvicorn handles SIGINT and SIGTERM; SIGHUP (which would otherwise end the process) reloads the index
    signal.signal(signal.SIGHUP, lambda signum, frame: api.state.service.reload_in_background("SIGHUP"))
    server.run()
    if failed:
        fail(str(failed[0]))
    if not server.started:
        raise typer.Exit(1)
