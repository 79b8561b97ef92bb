"""`qa serve --ray` (issue 13 part 2): the app as two Ray Serve replicas on a real local two-node
cluster (one CPU each, started and stopped here), the real model and index, Ray's HTTP proxy on a
free loopback port. The replicas answer what one `qa serve` answers, a replica killed under load
costs no request a retry does not recover, and an index swap reaches both replicas."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import CORPUS, pids_running

ray = pytest.importorskip("ray", reason="Ray is the cluster extra: pip install -e '.[cluster]'")
pytest.importorskip("ray.serve", reason="Ray Serve is part of the cluster extra: pip install -e '.[cluster]'")
pytestmark = pytest.mark.slow

QUESTION = "FLT3-ITD AML going into 7+3: what do I add, and on which days?"
VOLATILE = ("answer_id", "timings_ms")  # differ between any two answers, served or not


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: dict, timeout: float = 30.0) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, {}


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


@pytest.fixture(scope="module")
def served(tmp_path_factory, real_embedder):
    from ray.cluster_utils import Cluster

    from qa.cluster import serve as ray_serve
    from qa.index.build import build_index
    from qa.service.settings import Settings

    root = tmp_path_factory.mktemp("served")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    build_index(corpus, root / "index", real_embedder)
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    c.add_node(num_cpus=1)
    ray.init(address=c.address, log_to_driver=False, configure_logging=False)
    settings = Settings(index=root / "index", feedback_db=root / "feedback.sqlite3", port=_free_port(),
                        rate_limit_per_minute=0)
    ray_serve.start(c.address, settings, replicas=2, replica_cpus=1.0)
    yield f"http://127.0.0.1:{settings.port}", settings, corpus
    ray_serve.stop()
    ray.shutdown()
    c.shutdown()


def _strip(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k not in VOLATILE}


def test_the_replicas_answer_what_one_server_answers(served):
    from fastapi.testclient import TestClient

    from qa.service.app import create_app

    url, settings, _ = served
    status, body = _post(f"{url}/v1/ask", {"question": QUESTION})
    assert status == 200 and body["citations"], body
    with TestClient(create_app(settings)) as one:
        for _ in range(300):
            if one.get("/v1/readyz").status_code == 200:
                break
            time.sleep(0.1)
        want = one.post("/v1/ask", json={"question": QUESTION}).json()
    assert _strip(body) == _strip(want)
    assert _get(f"{url}/v1/readyz")["status"] == "ready"


def test_a_replica_killed_under_load_loses_no_request_a_retry_does_not_recover(served):
    from ray import serve

    url = served[0]
    counts = {"200": 0, "retried 200": 0, "failed": 0}
    statuses: dict[int, int] = {}
    lock, stop = threading.Lock(), threading.Event()

    def client():
        while not stop.is_set():
            outcome = "failed"
            for attempt in range(3):  # a client retries a 5xx or a dropped connection, as browsers' fetch wrappers do
                try:
                    status, _ = _post(f"{url}/v1/ask", {"question": QUESTION}, timeout=20)
                except OSError:
                    status = 0
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    outcome = "200" if attempt == 0 else "retried 200"
                    break
                time.sleep(0.5)
            with lock:
                counts[outcome] += 1

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(2)
    pids = pids_running(b"ServeReplica:qa")
    assert len(pids) == 2, pids
    os.kill(pids[0], signal.SIGKILL)
    time.sleep(6)
    stop.set()
    for t in threads:
        t.join()
    assert counts["failed"] == 0, (counts, statuses)
    assert counts["200"] + counts["retried 200"] > 10, counts
    deadline = time.monotonic() + 120  # Ray Serve restarts the replica
    while time.monotonic() < deadline:
        replicas = serve.status().applications["qa"].deployments["QA"].replica_states
        if replicas.get("RUNNING") == 2:
            break
        time.sleep(1)
    assert serve.status().applications["qa"].deployments["QA"].replica_states.get("RUNNING") == 2


def test_an_index_swap_reaches_every_replica(served, real_embedder):
    from qa.index.build import build_index

    url, settings, corpus = served
    before = _get(f"{url}/v1/readyz")["index_id"]
    (corpus / "extra.md").write_text("# Extra\n\nA short note about marrow review on day 14 after induction.\n")
    new = build_index(corpus, settings.index, real_embedder).index_id
    assert new != before
    deadline, streak = time.monotonic() + 60, 0
    while time.monotonic() < deadline and streak < 20:  # 20 answers in a row: both replicas, by chance 1 - 2^-19
        streak = streak + 1 if _get(f"{url}/v1/readyz")["index_id"] == new else 0
        time.sleep(0.05 if streak else 0.5)
    assert streak >= 20, "a replica still serves the old index"
