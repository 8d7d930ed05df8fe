"""Bulk conversion of existing licences (存量证照电子化转换): ``sidian import FILE``.

Input: JSON Lines (one formats.md body per line; ``id`` optional when a
``serial`` is given) or CSV with a header row and these columns
(:data:`CSV_COLUMNS`; extra ``face.<name>`` columns carry face fields, an
empty cell leaves the field out):

    id, serial, type_code, type_name, number, holder_name, holder_id_type,
    holder_id, issuer_code, issuer_name, issued_on, valid_from, valid_until,
    version, file_sm3, face.<name>...

``id`` or ``serial`` is required; ``type_name``, ``issuer_name``,
``version`` (default 1), ``file_sm3`` may be empty; an empty
``valid_until`` means 长期 (null).

Every row is validated and signed; valid rows are committed in batches,
each batch one transaction holding the licences, their ledger entries,
the signed tree head and the job's position. Rows that fail go to the
reject file (JSON Lines: row number, licence id if known, error code and
message — never the row's personal data) before their batch commits.

Resuming: the job is named by the SM3 of the input file. After a crash
(even ``kill -9``) the same command skips the rows of committed batches,
truncates the reject file to its length at the last commit, and goes on —
no duplicates, no gaps. A finished job is not run again.
"""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import io
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final, TextIO

import orjson

from pyservice.crypto import Sm3
from pyservice.errors import MalformedInputError, SidianError
from pyservice.ledger.service import Ledger
from pyservice.registry.keys import KeyRing
from pyservice.registry.service import PreparedLicence, Registry, today_in_china
from pyservice.store import BULK_CACHE_MIB, ImportProgress, UniqueViolationError, open_store

__all__ = [
    "CSV_COLUMNS",
    "MAX_LINE_BYTES",
    "ImportResult",
    "ImportRunningError",
    "csv_row_to_body",
    "import_file",
]

CSV_COLUMNS: Final = (
    "id",
    "serial",
    "type_code",
    "type_name",
    "number",
    "holder_name",
    "holder_id_type",
    "holder_id",
    "issuer_code",
    "issuer_name",
    "issued_on",
    "valid_from",
    "valid_until",
    "version",
    "file_sm3",
)
_CSV_REQUIRED: Final = (
    frozenset(CSV_COLUMNS)
    - {"id", "serial", "type_name", "issuer_name"}
    - {
        "version",
        "file_sm3",
    }
)
#: Longest input line accepted (a longer one is rejected, not loaded whole).
MAX_LINE_BYTES: Final = 64 * 1024
#: Rows per chunk sent to a worker process.
WORKER_CHUNK: Final = 1000
#: Worker processes pay off from this many rows (they take ~1 s to start).
POOL_MIN_ROWS: Final = 20_000


class ImportRunningError(SidianError):
    """The same import job is already running (its reject file is locked)."""

    code = "import_running"
    http_status = 409


class RowError(SidianError):
    """A row that cannot be read (bad JSON, bad CSV cell)."""

    code = "malformed_row"
    http_status = 400


@dataclass(frozen=True, slots=True)
class ImportResult:
    job_id: str
    rows: int
    imported: int
    rejected: int
    resumed_at: int
    already_done: bool
    seconds: float
    reject_path: Path

    def to_json(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "rows": self.rows,
            "imported": self.imported,
            "rejected": self.rejected,
            "resumed_at": self.resumed_at,
            "already_done": self.already_done,
            "seconds": round(self.seconds, 3),
            "rate_per_second": round(self.rows / self.seconds, 1) if self.seconds else None,
            "reject_file": str(self.reject_path),
        }


def _fingerprint(path: Path) -> tuple[str, int]:
    """SM3 of the file (the job id) and its number of lines."""
    digest = Sm3()
    lines = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            lines += chunk.count(b"\n")
    return digest.hexdigest(), lines


def csv_row_to_body(row: dict[str, str]) -> dict[str, Any]:
    """A formats.md body from one CSV row (see the module docstring)."""
    missing = [c for c in _CSV_REQUIRED if c not in row]
    if missing:
        raise RowError(f"missing CSV columns {sorted(missing)}")

    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    body: dict[str, Any] = {
        "type_code": cell("type_code"),
        "number": cell("number"),
        "holder": {
            "name": cell("holder_name"),
            "id_type": cell("holder_id_type"),
            "id": cell("holder_id"),
        },
        "issuer": {"code": cell("issuer_code")},
        "issued_on": cell("issued_on"),
        "valid_from": cell("valid_from"),
        "valid_until": cell("valid_until") or None,
        "face": {
            key[5:]: value.strip()
            for key, value in row.items()
            if key and key.startswith("face.") and value and value.strip()
        },
    }
    for name in ("id", "serial", "type_name", "file_sm3"):
        if cell(name):
            body[name] = cell(name)
    if cell("issuer_name"):
        body["issuer"]["name"] = cell("issuer_name")
    if cell("version"):
        if not cell("version").isdigit() or len(cell("version")) > 3:
            raise RowError("version must be an integer")
        body["version"] = int(cell("version"))
    return body


def _rows(path: Path, fmt: str) -> Iterator[tuple[int, bytes | dict[str, str]]]:
    """``(row number from 1, raw row)`` for every data row: a JSON line as
    bytes, a CSV record as a dict (parsed later, so a bad row becomes a
    reject, not an abort)."""
    if fmt == "jsonl":
        with path.open("rb") as f:
            for number, line in enumerate(_bounded_lines(f), 1):
                if line.strip():
                    yield number, line
        return
    with path.open("r", encoding="utf-8-sig", newline="") as text:
        number = 0
        try:
            for number, record in enumerate(csv.DictReader(text), 1):
                yield number, record
        except (csv.Error, UnicodeDecodeError) as exc:
            raise MalformedInputError(f"CSV unreadable after row {number}: {exc}") from exc


def _bounded_lines(f: BinaryIO) -> Iterator[bytes]:
    """The lines of ``f``, never holding more than ``MAX_LINE_BYTES`` + 1
    of one in memory: a longer line comes out truncated (and is rejected
    as too long), the rest of it skipped."""
    while line := f.readline(MAX_LINE_BYTES + 1):
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while (rest := f.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass
        yield line


def _parse(raw: bytes | dict[str, str]) -> dict[str, Any]:
    if isinstance(raw, dict):
        if None in raw:
            raise RowError("row has more cells than the header")
        return csv_row_to_body(raw)
    if len(raw) > MAX_LINE_BYTES:
        raise RowError(f"line longer than {MAX_LINE_BYTES} bytes")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RowError(f"not JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise RowError("a line must be a JSON object")
    return obj


#: A prepared row, or a reject (licence id if known, error code, message).
Outcome = PreparedLicence | tuple[str | None, str, str]


def _prepare_row(
    registry: Registry, raw: bytes | dict[str, str], today: dt.date, allow_legacy_id: bool
) -> Outcome:
    licence_id: str | None = None
    try:
        data = _parse(raw)
        raw_id = data.get("id")
        licence_id = raw_id if isinstance(raw_id, str) else None
        return registry.prepare(data, today=today, allow_legacy_id=allow_legacy_id)
    except SidianError as exc:
        return licence_id, exc.code, str(exc)


# ---- worker processes (spawned: no store connection crosses a fork) ----

_worker_registry: Registry | None = None


def _exit_with_parent(parent: int) -> None:
    # A killed importer (kill -9) must not leave workers behind, blocked on
    # a pipe nobody reads: they exit once their parent is gone.
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)


def _worker_initargs(data_dir: str | Path, master: bytes) -> tuple[str, bytes, int]:
    """The arguments of :func:`_worker_init`, made in the importer."""
    return str(data_dir), master, os.getpid()


def _worker_init(data_dir: str, master: bytes, parent: int) -> None:
    """``parent``: the importer's pid, taken before the worker started (read
    here, it would already be init's if the importer died while this worker
    was still starting, and the worker would wait forever)."""
    global _worker_registry  # noqa: PLW0603 - one registry per worker process
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    store = open_store(Path(data_dir), cache_mib=BULK_CACHE_MIB)
    keyring = KeyRing(store, master)
    _worker_registry = Registry(store, keyring, Ledger(store, keyring.platform_key("ledger")))


def _worker_prepare(
    chunk: list[tuple[int, bytes | dict[str, str]]], today: dt.date, allow_legacy_id: bool
) -> list[tuple[int, Outcome]]:
    registry = _worker_registry
    if registry is None:  # pragma: no cover - the initializer sets it
        raise RuntimeError("worker not initialised")
    return [(n, _prepare_row(registry, raw, today, allow_legacy_id)) for n, raw in chunk]


def _outcomes(
    registry: Registry,
    rows: Iterator[tuple[int, bytes | dict[str, str]]],
    *,
    today: dt.date,
    allow_legacy_id: bool,
    workers: int,
    data_dir: Path | None,
    master: bytes | None,
) -> Iterator[tuple[int, Outcome]]:
    """Prepared rows in input order: in this process, or validated and
    signed by ``workers`` processes (bounded number of chunks in flight)."""
    if workers <= 1 or data_dir is None or master is None:
        for number, raw in rows:
            yield number, _prepare_row(registry, raw, today, allow_legacy_id)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=_worker_init,
        initargs=_worker_initargs(data_dir, master),
    ) as pool:
        pending: deque[Future[list[tuple[int, Outcome]]]] = deque()
        chunks = _chunks(rows, WORKER_CHUNK)
        for chunk in chunks:
            pending.append(pool.submit(_worker_prepare, chunk, today, allow_legacy_id))
            if len(pending) >= 3 * workers:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def _chunks(
    rows: Iterator[tuple[int, bytes | dict[str, str]]], size: int
) -> Iterator[list[tuple[int, bytes | dict[str, str]]]]:
    chunk: list[tuple[int, bytes | dict[str, str]]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Rejects:
    """The reject file, truncated to the committed length on resume."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            # One run per job at a time: a second one would interleave its
            # rejects and overwrite the job's position.
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ImportRunningError(f"another import is writing {path}") from None
        self._file: TextIO = io.TextIOWrapper(os.fdopen(fd, "r+b"), encoding="utf-8")

    def resume_at(self, keep_bytes: int) -> None:
        """Drop what was written after the job's last committed position."""
        self._file.truncate(keep_bytes)
        self._file.seek(keep_bytes)

    def add(self, row: int, licence_id: str | None, code: str, message: str) -> None:
        record = {"row": row, "id": licence_id, "code": code, "message": message}
        self._file.write(orjson.dumps(record).decode("utf-8") + "\n")

    def sync(self) -> int:
        """Flush to disk; the file's length."""
        self._file.flush()
        os.fsync(self._file.fileno())
        return self._file.tell()

    def close(self) -> None:
        self._file.close()


class _Job:
    """One run of an import job: the batch being built and the counters."""

    def __init__(
        self,
        registry: Registry,
        path: Path,
        job: ImportProgress,
        rejects: _Rejects,
        *,
        total: int,
        batch_size: int,
        on_progress: Callable[[int, int], None] | None,
    ) -> None:
        self.registry = registry
        self.path = path
        self.job_id = job.job_id
        self.rows_done, self.imported, self.rejected = job.rows_done, job.imported, job.rejected
        self.rejects = rejects
        self.total = total
        self.batch_size = batch_size
        self.on_progress = on_progress
        self.batch: list[PreparedLicence] = []
        self.rows_of: dict[str, int] = {}

    def reject(self, row: int, licence_id: str | None, code: str, message: str) -> None:
        self.rejects.add(row, licence_id, code, message)
        self.rejected += 1

    def add(self, number: int, prepared: PreparedLicence) -> None:
        if prepared.id in self.rows_of:
            self.reject(number, prepared.id, "duplicate_row", "id repeats an earlier row")
        else:
            self.batch.append(prepared)
            self.rows_of[prepared.id] = number

    def commit(self, finished: bool) -> None:
        """Commit the batch with the job's position (one transaction). Rows
        already registered (another job, an earlier run of a changed file)
        make the store refuse the batch: they are rejected and the rest
        committed."""
        try:
            self._commit(self.batch, finished)
        except UniqueViolationError:
            existing = self.registry.store.licences_existing([p.id for p in self.batch])
            for p in self.batch:
                if p.id in existing:
                    self.reject(self.rows_of[p.id], p.id, "licence_exists", "already registered")
            self._commit([p for p in self.batch if p.id not in existing], finished)
        self.batch, self.rows_of = [], {}
        if self.on_progress is not None:
            self.on_progress(self.rows_done, self.total)

    def _commit(self, batch: list[PreparedLicence], finished: bool) -> None:
        progress = ImportProgress(
            self.job_id,
            str(self.path),
            self.rows_done,
            self.imported + len(batch),
            self.rejected,
            self.rejects.sync(),
            finished,
        )
        self.registry.commit_batch(batch, progress)
        self.imported += len(batch)


def import_file(
    registry: Registry,
    path: Path,
    *,
    fmt: str | None = None,
    reject_path: Path | None = None,
    batch_size: int = 2000,
    today: dt.date | None = None,
    allow_legacy_id: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
    data_dir: Path | None = None,
    master: bytes | None = None,
) -> ImportResult:
    """Import ``path`` (see the module docstring). ``on_progress(done,
    total)`` is called after each committed batch (``total`` is the
    number of lines, an estimate for CSV).

    ``workers`` > 1 validates and signs in that many spawned processes
    (each opens the store of ``data_dir`` and unwraps keys with
    ``master``); 0 picks the number of CPUs for files of at least
    ``POOL_MIN_ROWS`` rows. Batches are committed here, in input order."""
    started = time.monotonic()
    if batch_size <= 0:
        raise ValueError("batch_size must be positive")
    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    if fmt not in ("jsonl", "csv"):
        raise ValueError("format must be jsonl or csv")
    job_id, total = _fingerprint(path)
    if fmt == "csv":
        total = max(total - 1, 0)
    reject_path = reject_path or path.with_name(path.name + ".rejects.jsonl")
    rejects = _Rejects(reject_path)  # locked first: the position read next stays ours
    try:
        saved = registry.store.import_progress(job_id) or ImportProgress(
            job_id, str(path), 0, 0, 0, 0, finished=False
        )
        if saved.finished:
            return ImportResult(
                job_id,
                saved.rows_done,
                saved.imported,
                saved.rejected,
                saved.rows_done,
                True,
                0.0,
                reject_path,
            )
        rejects.resume_at(saved.reject_bytes)
        return _run(
            registry,
            path,
            fmt,
            saved,
            rejects,
            total=total,
            batch_size=batch_size,
            today=today or today_in_china(),
            allow_legacy_id=allow_legacy_id,
            on_progress=on_progress,
            workers=workers,
            data_dir=data_dir,
            master=master,
            started=started,
        )
    finally:
        rejects.close()


def _run(
    registry: Registry,
    path: Path,
    fmt: str,
    saved: ImportProgress,
    rejects: _Rejects,
    *,
    total: int,
    batch_size: int,
    today: dt.date,
    allow_legacy_id: bool,
    on_progress: Callable[[int, int], None] | None,
    workers: int,
    data_dir: Path | None,
    master: bytes | None,
    started: float,
) -> ImportResult:
    job = _Job(
        registry,
        path,
        saved,
        rejects,
        total=total,
        batch_size=batch_size,
        on_progress=on_progress,
    )
    # Commit at least every few batches' worth of rows, rejects included.
    checkpoint = batch_size * 4
    rows = ((n, raw) for n, raw in _rows(path, fmt) if n > saved.rows_done)
    if workers == 0:
        workers = min(os.cpu_count() or 1, 4) if total - saved.rows_done >= POOL_MIN_ROWS else 1
    for number, outcome in _outcomes(
        registry,
        rows,
        today=today,
        allow_legacy_id=allow_legacy_id,
        workers=workers,
        data_dir=data_dir,
        master=master,
    ):
        if isinstance(outcome, PreparedLicence):
            job.add(number, outcome)
        else:
            job.reject(number, *outcome)
        job.rows_done = number
        if len(job.batch) >= batch_size or (number - saved.rows_done) % checkpoint == 0:
            job.commit(False)
    job.commit(True)
    return ImportResult(
        saved.job_id,
        job.rows_done,
        job.imported,
        job.rejected,
        saved.rows_done,
        False,
        time.monotonic() - started,
        rejects.path,
    )
