"""custmgmt[testing]: the pytest11 plugin rewrites contract asserts and offers fixtures."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

AUTHOR_TESTS = '''
from custmgmt.testing import NotifierContract


class Silent:
    """A broken notifier: accepts everything, delivers nothing."""

    def send(self, notification, *, idempotency_key):
        pass


class TestSilent(NotifierContract):
    def make_notifier(self):
        return Silent()

    def delivered(self, notifier):
        return []


def test_the_fixtures(custmgmt_open, custmgmt_clock):
    app = custmgmt_open(settings=None)
    alice = app.principal("u-alice", roles={"salesperson"})
    p = app.prospects.register(alice, name="Li Na", phone="13700137000",
                               willingness="clear", potential_value=10)
    assert p.registration.at == custmgmt_clock.now()
'''


def test_a_plugin_authors_failing_contract_test_shows_what_it_compared(tmp_path: Path) -> None:
    (tmp_path / "test_my_notifier.py").write_text(textwrap.dedent(AUTHOR_TESTS))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "default",
         "test_my_notifier.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "5 failed, 1 passed" in out, out
    # Rewritten: the comparison and both sides, not a bare AssertionError.
    assert "Right contains one more item: Delivered(notification_id='n-000001', " \
        "idempotency_key='n-000001')" in out, out
