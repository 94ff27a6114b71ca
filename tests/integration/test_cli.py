"""The command line: db upgrade, principal add, import prospects, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import custmgmt
from custmgmt.cli import main


def test_upgrade_principal_and_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    assert main(["db", "upgrade", url]) == 0
    assert main(["principal", "add", "u-alice", "--role", "salesperson", "--team", "east",
                 "--url", url]) == 0
    data = tmp_path / "prospects.csv"
    data.write_text("\ufeffname,phone,willingness,potential_value\n"
                    "Wang Wei,138 0013 8000,clear,2000000\n"
                    "Li Na,12,clear,1\n"
                    "Wang Again,+8613800138000,watching,1\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["import", "prospects", str(data), "--as", "u-alice", "--url", url]) == 2
    out = capsys.readouterr()
    assert "imported 1, rejected 2" in out.out
    assert "line 3 [phone]" in out.out and "line 4: duplicate of line 2" in out.out
    assert "imported" in out.err  # the progress line
    with custmgmt.open(url) as app:
        alice = app.get_principal("u-alice")
        assert alice is not None and alice.team == "east"
        assert [p.profile.name.value for p in app.prospects.mine(alice).items] == ["Wang Wei"]


def test_errors_are_one_line_and_a_nonzero_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    assert main(["import", "prospects", "nope.csv", "--as", "u-x", "--url", url]) == 1
    assert "StorageError" in capsys.readouterr().err  # not migrated yet
    assert main(["db", "upgrade", url]) == 0
    rows = tmp_path / "rows.csv"
    rows.write_text("name,phone,willingness,potential_value\nWang,13800138000,clear,1\n",
                    encoding="utf-8")
    assert main(["import", "prospects", str(rows), "--as", "u-x", "--url", url]) == 1
    assert "PermissionDenied: 'u-x' may not prospect.register" in capsys.readouterr().err
    assert main(["principal", "add", "u-x", "--role", "salesman", "--url", url]) == 1
    assert "unknown role 'salesman'" in capsys.readouterr().err
    with custmgmt.open(url) as app:
        assert app.get_principal("u-x") is None
    main(["principal", "add", "u-x", "--role", "salesperson", "--url", url])
    assert main(["import", "prospects", str(tmp_path / "nope.csv"), "--as", "u-x",
                 "--url", url]) == 1
    assert "No such file" in capsys.readouterr().err
    assert main(["db", "upgrade", "nosuch://db"]) == 1


def test_reports_reminders_and_dispatch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    clock = custmgmt.FixedClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    with custmgmt.open(url, migrate=True, clock=clock) as app:
        app.principal("u-mia", roles={"sales_manager"}, team="east")
        alice = app.principal("u-alice", roles={"salesperson"}, team="east",
                              supervisor_id="u-mia")
        p = app.prospects.register(alice, name="Wang", phone="13800138000",
                                   willingness="clear", potential_value=2_000_000)
        app.followups.record(alice, p.id, channel="visit", summary="visit")
        app.prospects.advance(alice, p.id, to="proposal")
    capsys.readouterr()
    assert main(["report", "visit-points", "--month", "2026-03", "--as", "u-mia",
                 "--url", url]) == 0
    out = capsys.readouterr().out
    assert "visit points 2026-03 (minimum 30)" in out
    assert "u-alice" in out and "FLAGGED" in out
    assert main(["report", "funnel", "--from", "2026-03-01", "--to", "2026-03-31",
                 "--as", "u-mia", "--url", url]) == 0
    out = capsys.readouterr().out
    assert "1 prospects" in out and "initial_contact" in out and "100.0%" in out
    assert main(["report", "visit-points", "--month", "2026-13", "--as", "u-mia",
                 "--url", url]) == 1
    assert "month" in capsys.readouterr().err
    # Reminders use today's date: the March plan is long overdue by now.
    assert main(["followups", "remind", "--as", "u-mia", "--url", url]) == 0
    assert "2 reminder(s) queued" in capsys.readouterr().out
    assert main(["notify", "dispatch", "--as", "u-mia", "--url", url]) == 1
    assert "PermissionDenied: 'u-mia' may not notification.dispatch" in capsys.readouterr().err
    assert main(["principal", "add", "u-worker", "--role", "dispatcher", "--url", url]) == 0
    with caplog.at_level("INFO", logger="custmgmt.notifications"):
        assert main(["notify", "dispatch", "--as", "u-worker", "--url", url]) == 0
    assert "sent 2, failed 0" in capsys.readouterr().out
    assert sum("followup.overdue" in r.getMessage() for r in caplog.records) == 2
    assert main(["notify", "dispatch", "--as", "u-worker", "--url", url]) == 0
    assert "sent 0, failed 0" in capsys.readouterr().out


def _setup(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    assert main(["db", "upgrade", url]) == 0
    assert main(["principal", "add", "u-alice", "--role", "salesperson", "--url", url]) == 0
    return url


CHINESE = ("name,phone,organization,willingness,potential_value\n"
           "王伟,13800138000,华为技术有限公司,clear,2000000\n"
           "李娜,010-6552 9988,,interested,150000\n")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
def test_import_reads_the_encoding_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], encoding: str
) -> None:
    url = _setup(tmp_path)
    data = tmp_path / "p.csv"
    data.write_bytes(CHINESE.encode(encoding))
    assert main(["import", "prospects", str(data), "--as", "u-alice", "--url", url,
                 "--encoding", encoding]) == 0
    assert "imported 2, rejected 0" in capsys.readouterr().out
    with custmgmt.open(url) as app:
        alice = app.get_principal("u-alice")
        assert alice is not None
        names = {p.profile.name.value for p in app.prospects.mine(alice).items}
    assert names == {"王伟", "李娜"}


@pytest.mark.parametrize(("written", "given"), [("gb18030", "utf-8"), ("utf-16", "utf-8-sig"),
                                                ("utf-8", "utf-16")])
def test_a_file_in_another_encoding_is_one_clear_line_and_nothing_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], written: str, given: str
) -> None:
    url = _setup(tmp_path)
    data = tmp_path / "p.csv"
    data.write_bytes(CHINESE.encode(written))
    capsys.readouterr()
    assert main(["import", "prospects", str(data), "--as", "u-alice", "--url", url,
                 "--encoding", given]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"custmgmt: ValidationError: file: is not {given} text")
    assert "--encoding" in err[-1] and "Traceback" not in "\n".join(err)
    with custmgmt.open(url) as app:
        alice = app.get_principal("u-alice")
        assert alice is not None and app.prospects.mine(alice).items == ()


def test_a_file_without_a_header_is_refused_without_echoing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _setup(tmp_path)
    data = tmp_path / "p.csv"
    data.write_text("Wang Wei,13800138000,clear,2000000\nLi Na,13900139000,clear,1\n",
                    encoding="utf-8")
    capsys.readouterr()
    assert main(["import", "prospects", str(data), "--as", "u-alice", "--url", url]) == 1
    out = capsys.readouterr()
    assert "header" in out.err and len(out.err.strip().splitlines()) == 1
    assert "Wang" not in out.err + out.out and "13800138000" not in out.err + out.out


def test_a_huge_field_and_ragged_rows_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _setup(tmp_path)
    data = tmp_path / "p.csv"
    data.write_text("name,phone,willingness,potential_value\n"
                    f"Wang,13800138000,clear,\"{'9' * 200_000}\"\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["import", "prospects", str(data), "--as", "u-alice", "--url", url]) == 1
    err = capsys.readouterr().err
    assert "custmgmt: ValidationError: file: line" in err and "Traceback" not in err
    data.write_text("name,phone,willingness,potential_value\nWang,138,clear,1,extra,x\n",
                    encoding="utf-8")
    assert main(["import", "prospects", str(data), "--as", "u-alice", "--url", url]) == 1
    assert "more cells than the header" in capsys.readouterr().err
    assert main(["report", "funnel", "--from", "2026-03-31", "--to", "2026-03-01",
                 "--as", "u-alice", "--url", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("custmgmt: ") and len(err.strip().splitlines()) == 1


def test_an_interrupted_import_re_run_reports_rows_already_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _setup(tmp_path)
    data = tmp_path / "p.csv"
    lines = ["name,phone,willingness,potential_value"]
    lines += [f"P{n},1370013700{n},clear,1" for n in range(6)]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    first = tmp_path / "first.csv"
    first.write_text("\n".join(lines[:4]) + "\n", encoding="utf-8")
    assert main(["import", "prospects", str(data), "--as", "u-alice", "--url", url,
                 "--batch-size", "2"]) == 0
    capsys.readouterr()
    assert main(["import", "prospects", str(data), "--as", "u-alice", "--url", url]) == 0
    assert "imported 0, already imported 6, rejected 0" in capsys.readouterr().out
    assert main(["import", "prospects", str(first), "--as", "u-alice", "--url", url]) == 2
    assert "rejected 3" in capsys.readouterr().out  # another file: real conflicts


def test_db_rekey_seals_the_keys_with_the_pepper_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    with custmgmt.open(url, migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        app.prospects.register(alice, name="A", phone="010-6552 9988", willingness="clear",
                               potential_value=1)
        anna = app.principal("u-anna", roles={"account_manager"})
        app.customers.create(anna, name="C", organization="Acme Co.", email="c@acme.cn")
    pepper = "the application's own pepper"
    monkeypatch.setenv("CUSTMGMT_KEY_PEPPER", pepper)
    capsys.readouterr()
    assert main(["db", "rekey", url]) == 0
    assert "1 prospect(s), 1 customer(s)" in capsys.readouterr().out
    with custmgmt.open(url, settings=custmgmt.Settings(key_pepper=pepper)) as app:
        bob = app.principal("u-bob", roles={"salesperson"})
        assert [m.owner_id for m in app.prospects.find(bob, phone="+86 10 65529988")] == [
            "u-alice"]
        assert [m.owner_id for m in app.customers.find(bob, organization="ACME")] == ["u-anna"]
    with custmgmt.open(url) as app:  # the built-in pepper no longer matches
        bob = app.principal("u-bob", roles={"salesperson"})
        assert app.prospects.find(bob, phone="+86 10 65529988") == ()
    monkeypatch.setenv("CUSTMGMT_KEY_PEPPER", "short")
    assert main(["db", "rekey", url]) == 1
    assert "key_pepper" in capsys.readouterr().err
