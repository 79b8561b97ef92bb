"""`qa serve --ray`: the same FastAPI app, as N Ray Serve replicas behind Ray's HTTP proxy.

Each replica builds the app `qa serve` builds (`create_app(Settings())`: the same `/v1` contract,
settings and guards), from the driver's ``QA_*`` settings passed in its environment with every
path made absolute (a Ray worker runs in another folder). A replica loads and warms its index
before it reports itself started, so the proxy never routes a question to a replica that would
answer 503 "still loading"; a replica whose index cannot be loaded fails to start, and the driver
says why.

Reloads reach every replica: each one watches the index path (the symlink `qa index` swaps) every
WATCH_S and reloads itself when it points elsewhere, as SIGHUP does for one `qa serve`; the driver's
SIGHUP is therefore not needed, and `POST /v1/admin/reload` reloads the replica that received it at
once (the others follow within WATCH_S).

Rate limits are per replica unless ``QA_REDIS_URL`` names a Redis server, which they then share
(`qa.service.ratelimit.RedisBuckets`). A replica that dies is restarted by Ray Serve; questions in
flight on it fail (the proxy answers 500 or drops the connection) and a client's retry goes to a
live replica (benchmarks/serve_replicas.py measures it).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

log = logging.getLogger("qa.cluster.serve")

WATCH_S = 2.0  # how often a replica checks whether `qa index` has swapped the index it serves
APP_NAME = "qa"


def _watch_index(service, stop: threading.Event) -> None:
    """Reload ``service`` whenever its index path resolves to another folder."""
    path = Path(service.settings.index)
    seen = path.resolve()
    while not stop.wait(WATCH_S):
        now = path.resolve()
        if now != seen and (now / "manifest.json").exists():
            seen = now
            service.reload_in_background("index changed")


def build_app():
    """What each replica serves: the app, its index loaded and warmed up, the index watched."""
    from qa.service.app import create_app
    from qa.service.settings import Settings

    app = create_app(Settings())
    service = app.state.service
    service.load()  # now, not in the app's start-up thread: started means ready
    if service.load_error is not None:
        raise RuntimeError(f"the replica could not load its index: {service.load_error}")
    threading.Thread(target=_watch_index, args=(service, threading.Event()), name="qa-watch-index",
                     daemon=True).start()
    return app


def _env_value(value) -> str:
    """A setting as its ``QA_*`` variable spells it (lists as JSON, secrets revealed, booleans lower)."""
    import json

    from pydantic import SecretStr

    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return json.dumps([str(v) for v in value])
    return str(value)


def replica_env(settings, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The replicas' settings as ``QA_*`` variables: the driver's own, then every setting given to
    the driver's ``Settings`` explicitly (`qa serve`'s flags), with paths made absolute.

    >>> from qa.service.settings import Settings
    >>> env = replica_env(Settings(rate_limit_per_minute=0, docs=True), environ={"QA_LOG_LEVEL": "info"})
    >>> env["QA_RATE_LIMIT_PER_MINUTE"], env["QA_DOCS"], env["QA_LOG_LEVEL"], env["QA_INDEX"].startswith("/")
    ('0.0', 'true', 'info', True)
    """
    from qa.config import qa_variables

    env = dict(qa_variables() if environ is None else environ)
    env.update({f"QA_{name.upper()}": _env_value(getattr(settings, name)) for name in settings.model_fields_set
                if getattr(settings, name) is not None})
    env["QA_INDEX"] = str(Path(settings.index).absolute())
    env["QA_FEEDBACK_DB"] = str(Path(settings.feedback_db).absolute())
    if env.get("QA_CALIBRATION"):
        env["QA_CALIBRATION"] = str(Path(env["QA_CALIBRATION"]).absolute())
    return env


def deployment(replicas: int, env: dict[str, str], replica_cpus: float = 1.0):
    """The Ray Serve application: `build_app` behind ``serve.ingress``, ``replicas`` copies."""
    from ray import serve

    @serve.deployment(num_replicas=replicas, ray_actor_options={"num_cpus": replica_cpus,
                                                                "runtime_env": {"env_vars": env}},
                      max_ongoing_requests=32, health_check_period_s=5, graceful_shutdown_timeout_s=5)
    @serve.ingress(build_app)
    class QA:
        pass

    return QA.bind()


def start(address: str, settings, replicas: int, replica_cpus: float = 1.0, timeout_s: float = 300.0) -> None:
    """Run the replicas on the cluster at ``address`` with the proxy on ``settings.host:port``;
    returns once the application is running (every replica loaded), raises RuntimeError if not."""
    from ray import serve

    from qa.cluster.embed import connect

    connect(address)
    # one proxy, on the head node: nodes sharing a machine (a local cluster) would all claim one port
    serve.start(proxy_location="HeadOnly", http_options={"host": settings.host, "port": settings.port})
    app = deployment(replicas, replica_env(settings), replica_cpus)
    serve.run(app, name=APP_NAME, route_prefix="/", blocking=False)
    _wait_running(timeout_s)


def _wait_running(timeout_s: float) -> None:
    from ray import serve

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        app = serve.status().applications.get(APP_NAME)
        status = getattr(app, "status", None)
        if status == "RUNNING":
            return
        if status in ("DEPLOY_FAILED", "UNHEALTHY"):
            raise RuntimeError(f"the replicas did not start: {app.message or status}")
        time.sleep(0.5)
    raise RuntimeError(f"the replicas were not running after {timeout_s:.0f} s")


def stop() -> None:
    from ray import serve

    serve.delete(APP_NAME)
    serve.shutdown()
