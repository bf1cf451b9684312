"""Frameworks as the progress engine reads them, published versions kept per process.

A published framework never changes in place: every change moves it to a new version
(:mod:`apprentice.competencies.services`), so a version's shape, once read, is good for
the life of the process. The shapes are kept per app (``ApprenticeState.caches``), keyed
by (framework id, version, when the framework row last changed): a new version is a
new key and the old one simply ages out of a small LRU (the time only tells apart a
version number issued again after a backup was restored). Nothing is invalidated by
hand, and every server reads the key from the database, so several servers agree.
Drafts change freely and are never kept.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable
from functools import cache

from flask import current_app
from sqlalchemy import and_, bindparam, select

from apprentice.competencies.models import (
    AreaKind,
    Competency,
    CompetencyArea,
    Framework,
    FrameworkStatus,
    SupervisionLevel,
)
from apprentice.db import db_session
from apprentice.programmes.progress import AreaShape, CompetencyShape, FrameworkShape, Rule

# Framework versions kept per process: a handful are live at once (one per framework
# in use, plus the versions just replaced while pages finish).
SHAPES_KEPT = 64


def rule_of(framework) -> Rule:
    """A framework's programme rule, from its row (a Framework, or its columns)."""
    return Rule(
        electives_required=framework.electives_required,
        level_required=SupervisionLevel(framework.level_required),
        area_completion_percent=framework.area_completion_percent,
        time_allowed_months=framework.time_allowed_months,
    )


CACHE_NAME = "framework_shapes"  # its entry in the extension's caches


class ShapeCache:
    """(framework id, version, changed at) -> FrameworkShape, the least recently used
    dropped first, and how many versions of each framework are kept. Shared by the
    threads of a process, hence the lock."""

    def __init__(self, size: int = SHAPES_KEPT):
        self.size = size
        self._kept: OrderedDict[tuple, FrameworkShape] = OrderedDict()
        self._versions: Counter[int] = Counter()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> FrameworkShape | None:
        with self._lock:
            shape = self._kept.get(key)
            if shape is not None:
                self._kept.move_to_end(key)
            return shape

    def put(self, key: tuple, shape: FrameworkShape) -> None:
        """Keep ``shape`` under (framework id, version, changed at)."""
        with self._lock:
            if key not in self._kept:
                self._versions[key[0]] += 1
            self._kept[key] = shape
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                dropped = self._kept.popitem(last=False)[0][0]
                self._versions[dropped] -= 1
                if not self._versions[dropped]:
                    del self._versions[dropped]

    def knows(self, framework_id: int) -> bool:
        """Whether some version of the framework is kept (so asking its version is worth
        a statement)."""
        return self._versions[framework_id] > 0

    def __len__(self) -> int:
        return len(self._kept)


def kept_shapes() -> ShapeCache:
    """This app's cache (one per app: tests and hosts may run several in one process)."""
    caches = current_app.extensions["apprentice"].caches
    kept = caches.get(CACHE_NAME)
    return kept if kept is not None else caches.setdefault(CACHE_NAME, ShapeCache())


def shapes_of(framework_ids: Iterable[int]) -> dict[int, FrameworkShape]:
    """The current structure of each framework, in one statement: the versions, when a
    version of each is kept (and the kept shapes are used), else the frameworks read
    whole. Only a framework changed since it was kept costs a second statement."""
    ids = sorted(set(framework_ids))
    if not ids:
        return {}
    kept = kept_shapes()
    shapes: dict[int, FrameworkShape] = {}
    missing = ids
    if all(kept.knows(framework_id) for framework_id in ids):
        missing = []
        for framework_id, version, changed, status in db_session().execute(
                _versions_query(), {"ids": ids}):
            shape = (kept.get((framework_id, version, changed))
                     if status != FrameworkStatus.DRAFT else None)
            if shape is None:
                missing.append(framework_id)
            else:
                shapes[framework_id] = shape
    for shape, key, status in _read_shapes(missing):
        if status != FrameworkStatus.DRAFT:
            kept.put(key, shape)
        shapes[shape.id] = shape
    return shapes


@cache
def _versions_query():
    """The frameworks' versions (the cache keys), built once per process: building the
    statement cost more than running it."""
    return (select(Framework.id, Framework.version, Framework.updated_at, Framework.status)
            .where(Framework.id.in_(bindparam("ids", expanding=True))))


def _read_shapes(framework_ids: list[int]) -> list[tuple[FrameworkShape, tuple, str]]:
    """Frameworks with their current areas and competencies, and the cache key (id,
    version, changed at) and status read with them: one statement, so the key names
    exactly what was read even while another server publishes a new version."""
    if not framework_ids:
        return []
    rows = db_session().execute(
        select(Framework.id, Framework.name, Framework.version, Framework.updated_at,
               Framework.status,
               Framework.electives_required, Framework.level_required,
               Framework.area_completion_percent, Framework.time_allowed_months,
               CompetencyArea.id.label("area_id"), CompetencyArea.name.label("area_name"),
               CompetencyArea.kind, CompetencyArea.min_hours,
               Competency.id.label("competency_id"), Competency.lineage, Competency.code,
               Competency.statement)
        .select_from(Framework)
        .outerjoin(CompetencyArea, and_(CompetencyArea.framework_id == Framework.id,
                                        CompetencyArea.retired.is_(False)))
        .outerjoin(Competency, and_(Competency.area_id == CompetencyArea.id,
                                    Competency.retired_in.is_(None)))
        .where(Framework.id.in_(framework_ids))
        .order_by(Framework.id, CompetencyArea.position, CompetencyArea.id,
                  Competency.position, Competency.id))
    frameworks: dict[int, tuple] = {}
    areas: dict[int, dict[int, tuple]] = {}
    competencies: dict[int, list[CompetencyShape]] = {}
    for row in rows:
        if row.id not in frameworks:
            frameworks[row.id] = row
            areas[row.id] = {}
        if row.area_id is None:
            continue
        if row.area_id not in areas[row.id]:
            areas[row.id][row.area_id] = row
            competencies[row.area_id] = []
        if row.competency_id is not None:
            competencies[row.area_id].append(CompetencyShape(
                row.competency_id, row.lineage, row.code, row.statement, row.area_id))
    return [
        (FrameworkShape(
            id=f.id, name=f.name, rule=rule_of(f),
            areas=tuple(
                AreaShape(id=a.area_id, name=a.area_name, required=a.kind == AreaKind.REQUIRED,
                          min_hours=a.min_hours, competencies=tuple(competencies[a.area_id]))
                for a in areas[f.id].values())),
         (f.id, f.version, f.updated_at), f.status)
        for f in frameworks.values()]
