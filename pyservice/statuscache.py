"""Licence status cache: in-process LRU → Redis → the registry store.

Read path (:meth:`StatusCache.lookup`; concurrent misses of one licence
share one load, a lookup that starts after a change never joins a load
that started before it, and the misses of one event-loop turn are loaded
together: one ``MGET``, one store call, one pipeline of fills):

1. the in-process LRU (bounded by ``max_entries``); an entry is used only
   while it is younger than ``max_staleness`` seconds, counted from when
   this process cached it or from the last :meth:`StatusCache.confirm`,
   whichever is later, so a lost invalidation message cannot keep a status
   alive longer than that. ``confirm(t)`` is the status follower's word
   that every change committed to the store before ``t`` has been applied
   here (its poll of the store's status events succeeded); a hot entry then
   needs no Redis read at all. Confirmed or not, an entry is read again
   after ``redis_ttl`` seconds;
2. Redis ``GET``/``MGET sidian:v1:status:<ref hex>`` (JSON, every key with a TTL of
   ``redis_ttl`` seconds);
3. the source of truth, a :class:`StatusSource` (the registry store), run
   in the default executor; its answer is written back to Redis with
   ``SET NX EX`` (never overwriting a newer value a status change wrote
   meanwhile) and to the LRU.

Write path (:meth:`StatusCache.changed`, called after the store and the
ledger have the new status): Redis ``SET … EX`` and ``PUBLISH
sidian:v1:invalidate <ref hex>`` in one pipeline; every process's
subscriber drops that ref from its LRU.

Fail closed:

- Redis unreachable → reads go to the store (``degraded`` is true, for
  ``/readyz``); a status change that cannot reach Redis is remembered and
  replayed (``DEL`` + ``PUBLISH``) when Redis is back;
- Redis and the store both unable to answer → :class:`StatusUnavailableError`
  (the verify code turns it into ``UNDETERMINED`` naming the status check);
- a background task keeps the subscription: on any Redis error it retries
  with exponential backoff (``reconnect_min`` doubling up to
  ``reconnect_max`` seconds, no busy loop), and on every (re)subscription
  clears the LRU, since invalidations may have been missed meanwhile; a
  read or write that fails while the subscription stays up (a timeout)
  makes it probe Redis with ``PING`` within a second before Redis is used
  again.

Without a Redis URL the cache is the LRU in front of the store only (the
embedded single-process default); then ``max_staleness`` is the only bound
across processes.

``status_as_of`` of a response is the record's ``read_at``: when it was read
from the store, or the time of the last confirmation if that is later. A
record can be at most ``redis_ttl + max_staleness`` seconds old, and the
``sidian_status_age_seconds`` histogram shows the ages served. That sum is
also the worst case after a status change whose Redis write failed while
Redis kept serving reads (the replay fixes Redis once it takes writes
again; until then its copy lives out its TTL), which is why ``redis_ttl``
defaults to a short 60 s: a store read per licence per
minute is cheap, a revoked licence shown valid for long is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, Protocol

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from pyservice.errors import StatusUnavailableError
from pyservice.metrics import MetricBuffer
from pyservice.qr import licence_ref

__all__ = [
    "INVALIDATE_CHANNEL",
    "KEY_PREFIX",
    "Layer",
    "StatusCache",
    "StatusCacheMetrics",
    "StatusLookup",
    "StatusRecord",
    "StatusSource",
    "status_key",
]

log = logging.getLogger(__name__)

KEY_PREFIX = "sidian:v1:status:"
INVALIDATE_CHANNEL = "sidian:v1:invalidate"
_STORED_STATUSES = frozenset({"VALID", "SUSPENDED", "REVOKED", "CANCELLED"})
#: Refs remembered while Redis is down; past this, all status keys are
#: dropped on reconnect instead.
_MAX_PENDING = 10_000
_AGE_BUCKETS = (0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0)


def status_key(ref: bytes) -> str:
    """The Redis key of a licence reference."""
    return KEY_PREFIX + ref.hex()


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """A licence's stored status as read from the registry store."""

    licence_id: str
    #: ``VALID``, ``SUSPENDED``, ``REVOKED`` or ``CANCELLED`` (``EXPIRED``
    #: is derived from ``valid_until`` by the verifier, never stored).
    status: str
    reason: str | None
    #: Unix seconds of the status change that set ``status``.
    since: float
    #: Last day of validity, ``None`` for open-ended licences.
    valid_until: date | None
    #: Unix seconds when this was read from the store (``status_as_of``).
    read_at: float

    def __post_init__(self) -> None:
        if self.status not in _STORED_STATUSES:
            raise ValueError(f"not a stored licence status: {self.status!r}")

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "licence_id": self.licence_id,
                "status": self.status,
                "reason": self.reason,
                "since": self.since,
                "valid_until": None if self.valid_until is None else self.valid_until.isoformat(),
                "read_at": self.read_at,
            }
        )

    @classmethod
    def from_json(cls, data: bytes) -> StatusRecord:
        """Parses what :meth:`to_json` wrote; ``ValueError`` otherwise."""
        obj: Any = orjson.loads(data)
        if not isinstance(obj, dict):
            raise ValueError("status record must be an object")
        valid_until = obj["valid_until"]
        return cls(
            licence_id=_typed(obj, "licence_id", str),
            status=_typed(obj, "status", str),
            reason=None if obj["reason"] is None else _typed(obj, "reason", str),
            since=float(_typed(obj, "since", (int, float))),
            valid_until=None if valid_until is None else date.fromisoformat(valid_until),
            read_at=float(_typed(obj, "read_at", (int, float))),
        )


def _typed(obj: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = obj[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"status record: bad {name}")
    return value


class StatusSource(Protocol):
    """The source of truth (the registry store). Called from a worker
    thread. Returns ``None`` for an unknown licence reference; raises any
    exception when it cannot answer."""

    def load_status(self, ref: bytes) -> StatusRecord | None: ...


class Layer(StrEnum):
    """Where an answer came from (the ``layer`` label of the metrics)."""

    IN_PROCESS = "in-process"
    REDIS = "redis"
    STORE = "store"


@dataclass(frozen=True, slots=True)
class StatusLookup:
    """An answer: the record (``None`` for an unknown licence), the layer
    that gave it, and whether Redis was unusable for it."""

    record: StatusRecord | None
    layer: Layer
    degraded: bool
    #: ``status_as_of`` (Unix seconds): when the record was read from the
    #: store, or the last confirmation if later (0 without a record).
    as_of: float = 0.0


@dataclass(frozen=True, slots=True)
class StatusCacheMetrics:
    """``sidian_status_cache_total{layer,outcome}`` (outcome: hit, miss,
    error), ``sidian_status_age_seconds`` (age of served statuses) and
    ``sidian_redis_up`` (1 while this process is subscribed to Redis)."""

    lookups: Counter
    age: Histogram
    redis_up: Gauge
    #: The app's buffer for request-path updates (``None``: write at once).
    buffer: MetricBuffer | None = None

    @classmethod
    def create(
        cls, registry: CollectorRegistry, *, buffer: MetricBuffer | None = None
    ) -> StatusCacheMetrics:
        return cls(
            lookups=Counter(
                "sidian_status_cache",
                "Status cache lookups by layer and outcome.",
                ["layer", "outcome"],
                registry=registry,
            ),
            age=Histogram(
                "sidian_status_age_seconds",
                "Age of the served status (now - status_as_of).",
                buckets=_AGE_BUCKETS,
                registry=registry,
            ),
            redis_up=Gauge(
                "sidian_redis_up",
                "1 while the process is connected and subscribed to Redis.",
                registry=registry,
                multiprocess_mode="livemin",
            ),
            buffer=buffer,
        )

    #: Labelled children (``labels()`` costs a lock and a lookup per call).
    _children: dict[tuple[Layer, str], Any] = field(default_factory=dict)

    def count(self, layer: Layer, outcome: str) -> None:
        child = self._children.get((layer, outcome))
        if child is None:
            child = self._children[(layer, outcome)] = self.lookups.labels(layer.value, outcome)
        if self.buffer is None:
            child.inc()
        else:
            self.buffer.inc(child)

    def observe_age(self, seconds: float) -> None:
        if self.buffer is None:
            self.age.observe(seconds)
        else:
            self.buffer.observe(self.age, seconds)


class StatusCache:
    """See the module docstring. Use as ``async with StatusCache(...)``, or
    call :meth:`start` and :meth:`close`."""

    def __init__(
        self,
        source: StatusSource,
        *,
        redis_url: str | None,
        metrics: StatusCacheMetrics,
        max_entries: int = 100_000,
        max_staleness: float = 5.0,
        redis_ttl: int = 60,
        redis_timeout: float = 0.5,
        reconnect_min: float = 0.05,
        reconnect_max: float = 2.0,
    ) -> None:
        if max_entries <= 0 or max_staleness < 0 or redis_ttl <= 0:
            raise ValueError("max_entries and redis_ttl must be positive, max_staleness >= 0")
        if not 0 < reconnect_min <= reconnect_max:
            raise ValueError("need 0 < reconnect_min <= reconnect_max")
        self._source = source
        self._metrics = metrics
        self._max_entries = max_entries
        self._max_staleness = max_staleness
        self._redis_ttl = redis_ttl
        self._reconnect = (reconnect_min, reconnect_max)
        self._lru: OrderedDict[bytes, tuple[StatusRecord, float]] = OrderedDict()
        #: Bumped by every invalidation: a store read that overlaps one is
        #: not cached in the LRU (it may predate the change).
        self._generation = 0
        self._pending: set[bytes] = set()
        self._inflight: dict[bytes, asyncio.Future[StatusLookup]] = {}
        #: Misses of this event-loop turn, loaded together (one MGET, one
        #: store call, one pipeline of fills), and the loads running.
        self._cold: list[tuple[bytes, asyncio.Future[StatusLookup]]] = []
        self._cold_scheduled = False
        self._loads: set[asyncio.Task[None]] = set()
        self._pending_overflow = False
        self._redis: Redis | None = None
        if redis_url is not None:
            self._redis = Redis.from_url(
                redis_url,
                socket_timeout=redis_timeout,
                socket_connect_timeout=redis_timeout,
                retry=Retry(NoBackoff(), 0),
                health_check_interval=5,
            )
        self._redis_up = False
        self._subscribed = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        #: The last confirmation (:meth:`confirm`): monotonic and wall clock.
        self._confirmed_at = -math.inf
        self._confirmed_wall = 0.0
        metrics.redis_up.set(0)

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._redis is not None and self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="status-invalidations")

    async def close(self) -> None:
        for future in list(self._inflight.values()):
            future.cancel()
        self._inflight.clear()
        for task in list(self._loads):
            task.cancel()
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._redis is not None:
            await self._redis.aclose()
        self._metrics.redis_up.set(0)

    async def __aenter__(self) -> StatusCache:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def uses_redis(self) -> bool:
        return self._redis is not None

    @property
    def degraded(self) -> bool:
        """Redis is configured but not usable now (reads go to the store)."""
        return self._redis is not None and not self._redis_up

    async def wait_subscribed(self, within: float) -> bool:
        """Waits until the invalidation subscription is live (for startup
        and tests); ``False`` on timeout."""
        try:
            await asyncio.wait_for(self._subscribed.wait(), within)
        except TimeoutError:
            return False
        return True

    def __len__(self) -> int:
        return len(self._lru)

    # ------------------------------------------------------------ read path

    async def lookup(self, ref: bytes) -> StatusLookup:
        """The status of licence reference ``ref`` (16 bytes,
        :func:`pyservice.qr.licence_ref` of the licence id), from the
        nearest layer that has it. Raises :class:`StatusUnavailableError`
        when the store is needed and cannot answer."""
        m = self._metrics
        cached = self._lru.get(ref)
        if cached is not None:
            record, cached_at = cached
            now = time.monotonic()
            if now - max(cached_at, self._confirmed_at) <= self._max_staleness and (
                now - cached_at <= self._redis_ttl
            ):
                self._lru.move_to_end(ref)
                m.count(Layer.IN_PROCESS, "hit")
                return self._served(record, Layer.IN_PROCESS)
            del self._lru[ref]
        m.count(Layer.IN_PROCESS, "miss")
        # Concurrent misses of one ref share one load (no stampede on Redis
        # and the store after an invalidation), and the misses of one
        # event-loop turn are loaded together: at mass scale nearly every
        # scan misses this worker's LRU. The load runs as its own task, so
        # a cancelled caller does not cancel it for the others.
        future = self._inflight.get(ref)
        if future is None:
            loop = asyncio.get_running_loop()
            future = loop.create_future()
            self._inflight[ref] = future
            future.add_done_callback(functools.partial(self._load_done, ref))
            self._cold.append((ref, future))
            if not self._cold_scheduled:
                self._cold_scheduled = True
                loop.call_soon(self._dispatch_cold)
        result = await asyncio.shield(future)
        if result.record is not None:
            self._observe_age(result.as_of)
        return result

    def _dispatch_cold(self) -> None:
        """Start loading the waiting misses, unless a load is running: then
        they go when it ends, with whatever arrived meanwhile. One load at
        a time keeps the Redis connections this cache uses at one or two
        (the pool never shrinks, so concurrent loads grew it for good) and
        makes the batches larger under load."""
        self._cold_scheduled = False
        if self._loads:
            return
        batch, self._cold = self._cold, []
        batch = [(ref, future) for ref, future in batch if not future.done()]
        if batch:
            task = asyncio.ensure_future(self._load_batch(batch))
            self._loads.add(task)
            task.add_done_callback(self._load_batch_done)

    def _load_batch_done(self, task: asyncio.Task[None]) -> None:
        self._loads.discard(task)
        if self._cold and not self._cold_scheduled:
            self._cold_scheduled = True
            asyncio.get_running_loop().call_soon(self._dispatch_cold)

    async def _load_batch(self, batch: list[tuple[bytes, asyncio.Future[StatusLookup]]]) -> None:
        """Resolve each future with its lookup, or with the error of the
        layer that failed it (a store failure fails only the refs Redis did
        not have)."""
        try:
            found, failure = await self._load_many(list(dict.fromkeys(ref for ref, _ in batch)))
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # a bug: every caller gets it, nothing is cached
            found, failure = {}, exc
        for ref, future in batch:
            if future.done():
                continue
            lookup = found.get(ref)
            if lookup is not None:
                future.set_result(lookup)
            else:
                future.set_exception(failure or StatusUnavailableError("status unavailable"))

    def _load_done(self, ref: bytes, task: asyncio.Future[StatusLookup]) -> None:
        if self._inflight.get(ref) is task:
            del self._inflight[ref]
        if not task.cancelled():
            task.exception()  # retrieved, even if every caller went away

    async def _load_many(
        self, refs: list[bytes]
    ) -> tuple[dict[bytes, StatusLookup], Exception | None]:
        """Redis (one MGET), then the store (one call on a worker thread) for
        what Redis lacks, then one pipeline of fills: the lookups found, and
        the error for the refs the store could not answer."""
        m = self._metrics
        generation = self._generation
        found: dict[bytes, StatusLookup] = {}
        redis = self._redis
        redis_failed = redis is None or not self._redis_up
        if redis is not None and not redis_failed:
            redis_failed = not await self._from_redis(redis, refs, generation, found)

        missing = [ref for ref in refs if ref not in found]
        if not missing:
            return found, None
        loop = asyncio.get_running_loop()
        try:
            loaded = await loop.run_in_executor(None, self._load_from_source, missing)
        except Exception as exc:
            for _ in missing:
                m.count(Layer.STORE, "error")
            log.warning("status store failed: %s", type(exc).__name__)
            failure = StatusUnavailableError(
                "licence status unavailable: store failed"
                + (" and Redis is down" if redis_failed and self._redis is not None else "")
            )
            failure.__cause__ = exc
            return found, failure
        fills = []
        for ref, record in zip(missing, loaded, strict=True):
            if record is None:
                m.count(Layer.STORE, "miss")
                found[ref] = StatusLookup(None, Layer.STORE, self.degraded)
            else:
                m.count(Layer.STORE, "hit")
                fills.append((ref, record))
        if fills and redis is not None and not redis_failed:
            await self._redis_fill(redis, fills)
        for ref, record in fills:
            self._remember(ref, record, generation)
            found[ref] = StatusLookup(record, Layer.STORE, self.degraded, record.read_at)
        return found, None

    async def _from_redis(
        self, redis: Redis, refs: list[bytes], generation: int, found: dict[bytes, StatusLookup]
    ) -> bool:
        """One MGET: what Redis has goes into ``found``. ``False`` if Redis failed."""
        m = self._metrics
        try:
            values = await redis.mget([status_key(ref) for ref in refs])
        except RedisError as exc:
            for _ in refs:
                m.count(Layer.REDIS, "error")
            self._redis_lost(exc)
            return False
        for ref, data in zip(refs, values, strict=True):
            shared = self._parse(data) if isinstance(data, bytes) else None
            if shared is None:
                m.count(Layer.REDIS, "miss")
                continue
            m.count(Layer.REDIS, "hit")
            self._remember(ref, shared, generation)
            found[ref] = StatusLookup(shared, Layer.REDIS, self.degraded, shared.read_at)
        return True

    def _load_from_source(self, refs: list[bytes]) -> list[StatusRecord | None]:
        load = self._source.load_status
        return [load(ref) for ref in refs]

    def _observe_age(self, as_of: float) -> None:
        self._metrics.observe_age(max(0.0, time.time() - as_of))

    def _served(self, record: StatusRecord, layer: Layer) -> StatusLookup:
        # Known current as of the last confirmation, if that is later.
        as_of = max(record.read_at, self._confirmed_wall)
        self._observe_age(as_of)
        return StatusLookup(record, layer, self.degraded, as_of)

    def _parse(self, data: bytes) -> StatusRecord | None:
        try:
            return StatusRecord.from_json(data)
        except (ValueError, KeyError, TypeError):
            # Not ours or corrupted: ignore it, the store answers.
            self._metrics.count(Layer.REDIS, "error")
            return None

    def _remember(self, ref: bytes, record: StatusRecord, generation: int) -> None:
        if generation != self._generation:
            return
        self._lru[ref] = (record, time.monotonic())
        self._lru.move_to_end(ref)
        while len(self._lru) > self._max_entries:
            self._lru.popitem(last=False)

    async def _redis_fill(self, redis: Redis, records: list[tuple[bytes, StatusRecord]]) -> None:
        # NX: never over a newer value another process wrote meanwhile.
        try:
            async with redis.pipeline(transaction=False) as pipe:
                for ref, record in records:
                    pipe.set(status_key(ref), record.to_json(), ex=self._redis_ttl, nx=True)
                await pipe.execute()
        except RedisError as exc:
            self._metrics.count(Layer.REDIS, "error")
            self._redis_lost(exc)

    def confirm(self, as_of: float, as_of_monotonic: float) -> None:
        """Every status change committed to the store before ``as_of``
        (wall clock; ``as_of_monotonic`` is the same moment on the monotonic
        clock) has been applied to this cache: what the LRU holds is
        current as of then."""
        if as_of_monotonic > self._confirmed_at:
            self._confirmed_at = as_of_monotonic
            self._confirmed_wall = as_of

    # ----------------------------------------------------------- write path

    async def changed(self, record: StatusRecord) -> bool:
        """Publishes a status change (after the store and the ledger have
        it): this process's LRU at once, Redis ``SET`` + ``PUBLISH`` for
        every other process. ``False`` if Redis could not be reached; the
        change is then replayed when Redis is back (until then other
        processes rely on ``max_staleness``)."""
        ref = licence_ref(record.licence_id)
        self._invalidate(ref)
        if self._redis is None:
            return True
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.set(status_key(ref), record.to_json(), ex=self._redis_ttl)
                pipe.publish(INVALIDATE_CHANNEL, ref.hex())
                await pipe.execute()
        except RedisError as exc:
            self._remember_pending(ref)
            self._redis_lost(exc)
            return False
        # Again: a lookup between the first invalidation and the SET could
        # have read Redis's old copy (a confirmation would then keep it).
        self._invalidate(ref)
        return True

    def _invalidate(self, ref: bytes) -> None:
        self._generation += 1
        self._lru.pop(ref, None)
        # A load already running may predate the change: later lookups
        # start their own.
        self._inflight.pop(ref, None)

    def _remember_pending(self, ref: bytes) -> None:
        if len(self._pending) >= _MAX_PENDING:
            self._pending_overflow = True
            self._pending.clear()
        if not self._pending_overflow:
            self._pending.add(ref)

    async def _replay_pending(self, redis: Redis) -> None:
        """Drops the Redis copies of changes made while Redis was down and
        tells the other processes."""
        if self._pending_overflow:
            async for key in redis.scan_iter(match=KEY_PREFIX + "*", count=1000):
                await redis.unlink(key)
            await redis.publish(INVALIDATE_CHANNEL, "*")
            self._pending_overflow = False
        while self._pending:
            # Forgotten only once Redis has taken them.
            batch = list(self._pending)[:500]
            async with redis.pipeline(transaction=False) as pipe:
                for ref in batch:
                    pipe.delete(status_key(ref))
                    pipe.publish(INVALIDATE_CHANNEL, ref.hex())
                await pipe.execute()
            self._pending.difference_update(batch)

    # ------------------------------------------------------ invalidations

    def _redis_lost(self, exc: BaseException) -> None:
        if self._redis_up:
            log.warning("Redis unreachable (%s): reading status from the store", exc)
        self._redis_up = False
        self._subscribed.clear()
        self._metrics.redis_up.set(0)

    def _mark_up(self) -> None:
        self._redis_up = True
        self._metrics.redis_up.set(1)
        self._subscribed.set()

    def _apply(self, message: dict[str, Any]) -> None:
        data = message.get("data")
        if not isinstance(data, bytes):
            return
        if data == b"*":
            self._generation += 1
            self._lru.clear()
            self._inflight.clear()
            return
        try:
            ref = bytes.fromhex(data.decode("ascii"))
        except ValueError:
            return
        self._invalidate(ref)

    async def _listen(self) -> None:
        """Keeps one subscription to the invalidation channel alive."""
        redis = self._redis
        if redis is None:
            return
        delay = self._reconnect[0]
        while True:
            pubsub = redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(INVALIDATE_CHANNEL)
                # Anything may have changed while we were not listening.
                self._generation += 1
                self._lru.clear()
                self._inflight.clear()
                await self._replay_pending(redis)
                self._mark_up()
                delay = self._reconnect[0]
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._apply(message)
                    if not self._redis_up:
                        # A command failed (a timeout, a dropped pooled
                        # connection) while this subscription stayed up, so
                        # no invalidation was missed: probe, then trust
                        # Redis again. A failed probe resubscribes.
                        await redis.ping()
                        await self._replay_pending(redis)
                        self._mark_up()
            except (RedisError, OSError) as exc:
                self._redis_lost(exc)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._reconnect[1])
