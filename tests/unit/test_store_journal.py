"""The door's release journal on a real file: what an earlier run left incomplete is found
at start-up, a complete journal is emptied, a torn line is skipped."""

from __future__ import annotations

from panel.store.journal import ReleaseJournal


def begin(journal, rid, method="qr", who="Olivia Smith"):
    journal.begin(rid, method, who, "cred-1", 1700.0)


def test_a_release_complete_on_disk_empties_the_journal(tmp_path):
    j = ReleaseJournal(tmp_path / "journal")
    begin(j, "a-1")
    assert (tmp_path / "journal").stat().st_size > 0
    j.decided("a-1", True)
    j.written("a-1", "access")
    assert (tmp_path / "journal").stat().st_size > 0        # released, not yet relocked
    j.relocked()
    assert (tmp_path / "journal").stat().st_size == 0 and j.releases == {}
    j.close()


def test_a_failed_release_completes_once_its_refusal_is_written(tmp_path):
    j = ReleaseJournal(tmp_path / "journal")
    begin(j, "a-1")
    j.decided("a-1", False)
    j.written("a-1", "access")
    assert (tmp_path / "journal").stat().st_size == 0


def test_what_a_killed_run_left_is_found_at_start_up(tmp_path):
    j = ReleaseJournal(tmp_path / "journal")        # never closed: the process was killed
    begin(j, "a-1")
    j.decided("a-1", True)
    j.written("a-1", "access")
    j.relocked()                                    # a-1 complete: the file starts afresh
    begin(j, "a-2", "exit", "")
    j.decided("a-2", True)                          # confirmed, killed before the relock
    begin(j, "a-3", "api", "rig")                   # killed before the relay answered
    again = ReleaseJournal(tmp_path / "journal")
    found = {r.id: (r.method, r.who, r.opened, r.relocked, r.ts) for r in again.earlier()}
    assert found == {"a-2": ("exit", "", True, False, 1700.0), "a-3": ("api", "rig", None, False, 1700.0)}


def test_the_relock_of_this_run_does_not_complete_an_earlier_runs_release(tmp_path):
    j = ReleaseJournal(tmp_path / "journal")
    begin(j, "a-1")
    j.decided("a-1", True)
    j = ReleaseJournal(tmp_path / "journal")
    j.relocked()                                    # the relock at start-up
    [r] = j.earlier()
    assert not r.relocked
    j.decided("a-1", True)                          # the rules log what was missing
    j.alarm_raised("a-1")
    j.recovered("a-1")
    j.written("a-1", "access")
    assert ReleaseJournal(tmp_path / "journal").earlier()[0].id == "a-1"     # the alarm is not on disk yet
    j.written("a-1", "alarm")
    assert (tmp_path / "journal").stat().st_size == 0


def test_a_torn_last_line_is_skipped(tmp_path, caplog):
    j = ReleaseJournal(tmp_path / "journal")
    begin(j, "a-1")
    j.close()
    with open(tmp_path / "journal", "ab") as f:
        f.write(b'{"begin":"a-2","meth')
    [r] = ReleaseJournal(tmp_path / "journal").earlier()
    assert r.id == "a-1" and "unreadable" in caplog.text
