"""A power cut for SQLite, simulated in a VFS (apsw).

`PowerCutVFS` sits on top of the real unix VFS (so locking, the WAL's shared memory
and reads work as on the panel) and models what a disk keeps through a power cut:
for every file SQLite opens through it, the content as of the file's last xSync,
and for every directory, the names as of its last fsync. What was written but not
synced is what a power cut takes, and a `kill -9` does not (it leaves the writes in
the OS page cache, which is why a kill test passes with `synchronous=OFF` too).

The model, after `power_cut()` and `restore()`:

- Contents: a file (an inode) holds its image at its last xSync; unsynced writes
  and truncations are gone, the WAL's or journal's unsynced tail included. No torn
  sectors: a sync is all or nothing and unsynced writes are all dropped (the
  harshest case for durability, not the harshest for consistency).
- Names: creating or deleting a file changes only the live directory; the durable
  directory takes the live one's entries when the directory is synced. That
  happens where the unix VFS fsyncs it: on the first xSync of a journal or WAL
  opened with SQLITE_OPEN_CREATE, and on xDelete with `syncdir`. A file created
  and never covered by a directory sync is gone after the cut; one deleted without
  a directory sync comes back with its inode's durable content (a hot journal, say).
- The WAL index (`-shm`) is never synced by SQLite: it is removed.
- Files already on disk when the VFS first opened them count as durable.
- After `power_cut()`, until `restore()`, every write, sync, truncation and delete
  is dropped: the machine is off, and the test can close the old connection
  without that close checkpointing or deleting anything.

`Connection` runs the store's own statements on an apsw connection through this
VFS: the stdlib `sqlite3` module cannot use a VFS registered by apsw, since the two
link different SQLite libraries (apsw bundles its own).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import apsw

_DIRSYNC_TYPES = apsw.SQLITE_OPEN_MAIN_JOURNAL | apsw.SQLITE_OPEN_SUPER_JOURNAL | apsw.SQLITE_OPEN_WAL


class _Inode:
    def __init__(self, durable: bytes = b""):
        self.durable = durable      # content as of the last sync


class PowerCutVFS(apsw.VFS):
    def __init__(self, name: str = "powercut"):
        self.vfs_name = name
        self.live: dict[str, _Inode] = {}       # path -> inode, as the running system sees it
        self.durable: dict[str, _Inode] = {}    # path -> inode, as the disk's directories hold it
        self.off = False
        self.syncs = 0
        super().__init__(name, "")

    def xOpen(self, name, flags):
        return _File(self, name, flags)

    def xDelete(self, filename: str, syncdir: bool) -> None:
        if self.off:
            return
        super().xDelete(filename, syncdir)
        self.live.pop(filename, None)
        if syncdir:
            self.sync_directory(os.path.dirname(filename))

    def sync_directory(self, directory: str) -> None:
        for path in set(self.live) | set(self.durable):
            if os.path.dirname(path) == directory:
                if path in self.live:
                    self.durable[path] = self.live[path]
                else:
                    self.durable.pop(path, None)

    def power_cut(self) -> None:
        self.off = True

    def restore(self) -> None:
        """Lay the files on disk as the power cut left them; power comes back on."""
        for path in set(self.live) | set(self.durable):
            if path in self.durable:
                Path(path).write_bytes(self.durable[path].durable)
            else:
                Path(path).unlink(missing_ok=True)
            Path(path + "-shm").unlink(missing_ok=True)
        self.live = dict(self.durable)
        self.off = False


class _File(apsw.VFSFile):
    def __init__(self, vfs: PowerCutVFS, name, flags):
        self._vfs = vfs
        self._path = name.filename() if isinstance(name, apsw.URIFilename) else name
        existed = self._path is not None and os.path.exists(self._path)
        super().__init__("", name, flags)
        self._dirsync = bool(flags[0] & apsw.SQLITE_OPEN_CREATE and flags[0] & _DIRSYNC_TYPES)
        if self._path is None:
            self._inode = _Inode()
        elif self._path in vfs.live:
            self._inode = vfs.live[self._path]
        elif existed:                       # there before the VFS saw it: durable
            self._inode = vfs.live[self._path] = vfs.durable[self._path] = _Inode(Path(self._path).read_bytes())
        else:                               # created now: the name is not durable yet
            self._inode = vfs.live[self._path] = _Inode()

    def xWrite(self, data, offset: int) -> None:
        if not self._vfs.off:
            super().xWrite(data, offset)

    def xTruncate(self, newsize: int) -> None:
        if not self._vfs.off:
            super().xTruncate(newsize)

    def xSync(self, flags: int) -> None:
        if self._vfs.off:
            return
        super().xSync(flags)
        size = super().xFileSize()
        self._inode.durable = bytes(super().xRead(size, 0)) if size else b""
        self._vfs.syncs += 1
        if self._dirsync and self._path is not None:
            self._vfs.sync_directory(os.path.dirname(self._path))
            self._dirsync = False


class _Cursor:
    def __init__(self, rows: list, lastrowid: int):
        self._rows, self.lastrowid = rows, lastrowid

    def fetchone(self):
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list:
        return list(self._rows)

    def __iter__(self):
        return iter(self._rows)


class Connection:
    """The part of `sqlite3.Connection` that `panel.store.Store` uses (autocommit, as
    the store opens it), over an apsw connection through `vfs`. apsw errors come out
    as `sqlite3.OperationalError`, so the store's own error handling applies."""

    def __init__(self, path: Path, vfs: str):
        try:
            self._db = apsw.Connection(str(path), vfs=vfs)
        except apsw.Error as e:
            raise sqlite3.OperationalError(str(e)) from None

    def execute(self, sql: str, params=()) -> _Cursor:
        try:
            rows = self._db.execute(sql, params).fetchall()
        except apsw.Error as e:
            raise sqlite3.OperationalError(str(e)) from None
        return _Cursor(rows, self._db.last_insert_rowid())

    def executemany(self, sql: str, seq) -> None:
        seq = list(seq)
        if seq:
            try:
                self._db.executemany(sql, seq).fetchall()
            except apsw.Error as e:
                raise sqlite3.OperationalError(str(e)) from None

    def executescript(self, sql: str) -> None:
        self.execute(sql)

    def close(self) -> None:
        self._db.close()


def connect_through(vfs: PowerCutVFS):
    """A `connect` for `Store(path, connect=...)` that opens the database through `vfs`."""
    return lambda path: Connection(path, vfs.vfs_name)
