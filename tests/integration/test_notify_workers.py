"""`custmgmt notify run` as real processes: several workers at once, and a killed one."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest

import custmgmt
from custmgmt import DeliveryStatus
from custmgmt.testing import sample_notification
from tests.integration.file_notifier import read
from tests.pg_server import Cluster

ROOT = Path(__file__).resolve().parents[2]
OPS = custmgmt.Principal(id="u-ops")


def prepare(url: str, count: int) -> None:
    with custmgmt.open(url, migrate=True) as app:
        app.principal("u-ops", roles={"dispatcher"})  # the worker's own role, not admin
        with app._storage.unit_of_work() as uow:
            for n in range(1, count + 1):
                uow.outbox.add(attrs.evolve(sample_notification(n), id=f"n-{n:06d}"))
            uow.commit()


def worker(url: str, log: Path, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "custmgmt", "notify", "run", "--until-idle", "--as", "u-ops",
         "--url", url, "--plugin", "tests.integration.file_notifier",
         "--notifier", "file-log", "--option", f"file-log.path={log}", *options],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=600)
    return process.returncode, out, err


def statuses(url: str) -> Counter[DeliveryStatus]:
    with custmgmt.open(url) as app:
        return Counter(i.status for i in app.outbox(OPS))


@pytest.mark.postgresql
def test_four_worker_processes_deliver_a_thousand_items_each_exactly_once(
    postgres: Cluster, tmp_path: Path
) -> None:
    url = postgres.new_database()
    prepare(url, 1000)
    log = tmp_path / "delivered.jsonl"
    started = time.monotonic()
    processes = [worker(url, log, "--batch", "20") for _ in range(4)]
    results = [finish(p) for p in processes]
    elapsed = time.monotonic() - started
    assert [code for code, _, _ in results] == [0] * 4, [err for _, _, err in results]
    lines = read(log)
    ids = Counter(str(line["id"]) for line in lines)
    assert len(ids) == 1000 and set(ids.values()) == {1}  # each delivered, none twice
    assert all(line["key"] == line["id"] for line in lines)
    assert len({line["pid"] for line in lines}) >= 2, "the workers should share the work"
    sent = sum(int(out.split("sent ")[1].split(",")[0]) for _, out, _ in results)
    assert sent == 1000
    assert statuses(url) == Counter({DeliveryStatus.SENT: 1000})
    print(f"\n4 workers x 1000 items on PostgreSQL: {elapsed:.1f}s, "
          f"per worker {Counter(line['pid'] for line in lines).most_common()}")


def test_a_worker_killed_between_send_and_mark_sent_is_redelivered_with_the_same_key(
    sql_url: str, tmp_path: Path
) -> None:
    prepare(sql_url, 3)
    log = tmp_path / "delivered.jsonl"
    # The lease must outlast starting the next worker process on a loaded machine (10 s
    # did not, at a load average above 10).
    code, _, _ = finish(worker(sql_url, log, "--batch", "1", "--lease-seconds", "30",
                               "--option", "file-log.die_after=2"))
    assert code == -9  # SIGKILL, right after the far side got n-000002
    assert [line["id"] for line in read(log)] == ["n-000001", "n-000002"]
    with custmgmt.open(sql_url) as app:
        stuck = {i.notification.id: i for i in app.outbox(OPS)}["n-000002"]
    assert stuck.status is DeliveryStatus.PENDING and stuck.leased_until is not None
    code, out, err = finish(worker(sql_url, log))
    assert code == 0 and "sent 1," in out, err  # the lease has not expired: only n-3
    time.sleep(max(0.0, (stuck.leased_until - datetime.now(UTC)).total_seconds()) + 0.2)
    code, out, err = finish(worker(sql_url, log))
    assert code == 0 and "sent 1," in out, err
    lines = read(log)
    assert [(line["id"], line["key"]) for line in lines] == [
        ("n-000001", "n-000001"), ("n-000002", "n-000002"), ("n-000003", "n-000003"),
        ("n-000002", "n-000002")]  # again, with the same key
    assert len({str(line["key"]) for line in lines}) == 3  # a key-honouring far side: once each
    assert statuses(sql_url) == Counter({DeliveryStatus.SENT: 3})
