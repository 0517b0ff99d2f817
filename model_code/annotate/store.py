"""The folder of plans behind the annotation tool: listing, state, atomic conflict-checked saves.

Layout of an annotation folder::

    DIR/plan_a.jpg                 the plan (PNG or JPEG)
    DIR/plan_a.json                its annotation in the customers' format (+ our extensions)
    DIR/.annotate/plan_a.state.json  revision, state, content hash and image size
    DIR/.annotate/history/plan_a/000007.json  the last saved revisions (a safety net)

Every write goes to a temporary file in the same folder, is fsync'ed and renamed over the
target, so a crash leaves either the old or the new file, never half of one.  Saves carry the
revision they were based on; a save based on an older revision raises
:class:`RevisionConflict` instead of silently overwriting someone else's work.  One lock file
per plan (``fcntl.flock``) serialises saves across threads and processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from model_code.annotate.checks import Problem, annotation_problems
from model_code.io.files import atomic_write_bytes
from model_code.io.images import read_image
from model_code.schema import Annotation, schema_problems

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
# R3D-style folders keep masks next to the plans: they are not plans to annotate.
MASK_STEM_SUFFIXES = ("_wall", "_walls", "_close", "_rooms", "_mask", "_openings")
STATE_DIR = ".annotate"
HISTORY_KEEP = 30

NOT_STARTED = "not_started"
PRE_ANNOTATED = "pre_annotated"
EDITED = "edited"
VALIDATED = "validated"
STATES = (NOT_STARTED, PRE_ANNOTATED, EDITED, VALIDATED)
SOURCES = ("edit", "preannotation")


class StoreError(Exception):
    """Base class of the annotation store's errors."""


class PlanNotFound(StoreError):
    """No plan with this id in the folder."""


class InvalidAnnotation(StoreError):
    """The document breaks the annotation schema (or, when validating, a geometric rule)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


class RevisionConflict(StoreError):
    """The plan was saved by someone else since the revision the caller started from."""

    def __init__(self, current_revision: int, base_revision: int | None):
        self.current_revision = current_revision
        self.base_revision = base_revision
        super().__init__(
            f"plan changed since revision {base_revision}: it is now at revision {current_revision}"
        )


@dataclass
class PlanInfo:
    """One plan of the folder and where it stands."""

    id: str
    image_path: Path
    json_path: Path
    state: str
    revision: int
    updated_at: str | None
    counts: dict[str, int] = field(default_factory=dict)
    annotation_error: str | None = None  # why the JSON file cannot be opened (None: it can)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the plan list."""
        return {
            "id": self.id,
            "image": self.image_path.name,
            "annotation": self.json_path.name,
            "state": self.state,
            "revision": self.revision,
            "updated_at": self.updated_at,
            "counts": dict(self.counts),
            "annotation_error": self.annotation_error,
        }


@dataclass
class SaveResult:
    """What a save produced: the new revision and state, and the remaining problems."""

    revision: int
    state: str
    updated_at: str
    annotation: dict[str, Any]
    problems: list[Problem]

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the editor."""
        return {
            "revision": self.revision,
            "state": self.state,
            "updated_at": self.updated_at,
            "annotation": self.annotation,
            "problems": [p.to_dict() for p in self.problems],
        }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _sha256(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _is_number_list(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    )


def _format_json(value: Any, depth: int = 0) -> str:
    """Pretty JSON with one element per line and points/boxes kept on one line."""
    pad, inner = " " * depth, " " * (depth + 1)
    if isinstance(value, dict) and value:
        items = [
            f"{inner}{json.dumps(k, ensure_ascii=False)}: {_format_json(v, depth + 1)}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and value and not _is_number_list(value):
        items = [inner + _format_json(v, depth + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False)


def encode_annotation(data: dict[str, Any]) -> bytes:
    """The exact bytes written for an annotation (stable, so equal documents hash equally)."""
    return (_format_json(data) + "\n").encode("utf-8")


def is_plan_file(path: Path) -> bool:
    """True for a PNG/JPEG plan, false for masks, hidden and temporary files."""
    return (
        path.is_file()
        and not path.name.startswith(".")
        and path.suffix.lower() in IMAGE_SUFFIXES
        and not path.stem.lower().endswith(MASK_STEM_SUFFIXES)
    )


class AnnotationStore:
    """The plans of one folder, their annotations and their editing state."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise StoreError(f"annotation folder {self.root} does not exist or is not a directory")
        self.state_dir = self.root / STATE_DIR
        # plan id -> (sha256 of its JSON bytes, element counts, annotation error): the listing
        # schema-checks each file once per content, not on every page load
        self._inspected: dict[str, tuple[str, dict[str, int], str | None]] = {}

    # -- discovery ---------------------------------------------------------------------------

    def _image_paths(self) -> dict[str, Path]:
        """Plan id (file stem) -> image path; a stem used twice keeps its first file by name."""
        found: dict[str, Path] = {}
        for path in sorted(self.root.iterdir()):
            if is_plan_file(path) and path.stem not in found:
                found[path.stem] = path
        return found

    def duplicates(self) -> list[str]:
        """Image files hidden because another file has the same stem (they would share one JSON)."""
        seen: set[str] = set()
        hidden = []
        for path in sorted(self.root.iterdir()):
            if is_plan_file(path):
                if path.stem in seen:
                    hidden.append(path.name)
                seen.add(path.stem)
        return hidden

    def image_path(self, plan_id: str) -> Path:
        """The image of plan ``plan_id``; raises :class:`PlanNotFound`."""
        path = self._image_paths().get(plan_id)
        if path is None:
            raise PlanNotFound(f"no plan {plan_id!r} in {self.root}")
        return path

    def json_path(self, plan_id: str) -> Path:
        """Where the annotation of ``plan_id`` lives (next to the image)."""
        return self.image_path(plan_id).with_suffix(".json")

    def _meta_path(self, plan_id: str) -> Path:
        return self.state_dir / f"{plan_id}.state.json"

    # -- metadata ----------------------------------------------------------------------------

    def _read_meta(self, plan_id: str) -> dict[str, Any]:
        path = self._meta_path(plan_id)
        try:
            meta = json.loads(path.read_text())
            return meta if isinstance(meta, dict) else {}
        except (OSError, ValueError):
            return {}

    def _write_meta(self, plan_id: str, meta: dict[str, Any]) -> None:
        self.state_dir.mkdir(exist_ok=True)
        atomic_write_bytes(self._meta_path(plan_id), (json.dumps(meta, indent=1) + "\n").encode())

    def _read_json_bytes(self, plan_id: str) -> bytes | None:
        try:
            return self.json_path(plan_id).read_bytes()
        except FileNotFoundError:
            return None

    def _current(self, plan_id: str) -> tuple[dict[str, Any], bytes | None]:
        """The plan's metadata reconciled with the file on disk, and the file's bytes.

        A JSON file edited or removed behind the tool's back counts as a new revision, so a
        browser holding an older copy gets a conflict instead of overwriting the change.
        """
        meta = self._read_meta(plan_id)
        raw = self._read_json_bytes(plan_id)
        revision = int(meta.get("revision", 0))
        state = meta.get("state", NOT_STARTED)
        if _sha256(raw) != meta.get("sha256"):
            revision += 1 if (raw is not None or "sha256" in meta) else 0
            state = EDITED if raw is not None else NOT_STARTED
        if raw is None:
            state = NOT_STARTED
        return {**meta, "revision": revision, "state": state}, raw

    @contextlib.contextmanager
    def _locked(self, plan_id: str) -> Iterator[None]:
        """Exclusive per-plan lock shared by threads and processes."""
        self.state_dir.mkdir(exist_ok=True)
        with open(self.state_dir / f"{plan_id}.lock", "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    # -- reading -----------------------------------------------------------------------------

    def plans(self) -> list[PlanInfo]:
        """Every plan of the folder with its state, sorted by file name."""
        return [self.info(plan_id) for plan_id in self._image_paths()]

    def info(self, plan_id: str) -> PlanInfo:
        """State, revision and element counts of one plan."""
        image = self.image_path(plan_id)
        meta, raw = self._current(plan_id)
        counts, error = self._inspect(plan_id, image.with_suffix(".json").name, raw)
        return PlanInfo(
            id=plan_id,
            image_path=image,
            json_path=image.with_suffix(".json"),
            state=meta["state"],
            revision=meta["revision"],
            updated_at=meta.get("updated_at"),
            counts=counts,
            annotation_error=error,
        )

    def _inspect(self, plan_id: str, name: str, raw: bytes | None) -> tuple[dict[str, int], str | None]:
        """Element counts of a JSON file, or why it cannot be opened (any file, never an exception)."""
        if raw is None:
            return {}, None
        digest = _sha256(raw)
        cached = self._inspected.get(plan_id)
        if cached is not None and cached[0] == digest:
            return dict(cached[1]), cached[2]
        counts: dict[str, int] = {}
        error = None
        try:
            data = json.loads(raw)
        except ValueError as exc:  # UnicodeDecodeError included
            error = f"{name} is not valid JSON: {exc}"
        else:
            problems = schema_problems(data, "annotation")
            if problems:
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                error = f"{name} does not match the annotation schema: {problems[0]}{more}"
            else:
                counts = {k: len(data.get(k) or []) for k in ("walls", "openings", "rooms")}
        self._inspected[plan_id] = (digest, counts, error)
        return dict(counts), error

    def image_size(self, plan_id: str) -> tuple[int, int]:
        """``(width, height)`` of the plan as :func:`read_image` decodes it (cached per file)."""
        image = self.image_path(plan_id)
        stat = image.stat()
        stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
        meta = self._read_meta(plan_id)
        if meta.get("image_stamp") == stamp and meta.get("width") and meta.get("height"):
            return int(meta["width"]), int(meta["height"])
        height, width = read_image(image).shape[:2]
        with self._locked(plan_id):
            meta = self._read_meta(plan_id)
            meta.update(width=width, height=height, image_stamp=stamp)
            self._write_meta(plan_id, meta)
        return width, height

    def load(self, plan_id: str) -> tuple[dict[str, Any] | None, PlanInfo]:
        """The plan's annotation (``None`` if not started) and its info.

        An unreadable JSON file raises :class:`InvalidAnnotation` naming the file.
        """
        info = self.info(plan_id)
        raw = self._read_json_bytes(plan_id)
        if raw is None:
            return None, info
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise InvalidAnnotation([Problem(f"{info.json_path.name} is not valid JSON: {exc}")]) from exc
        return data, info

    def problems(self, plan_id: str, data: dict[str, Any]) -> list[Problem]:
        """Validation problems of ``data`` for this plan (its real pixel size included)."""
        width, height = self.image_size(plan_id)
        return annotation_problems(data, width, height)

    def client_token(self, plan_id: str) -> str | None:
        """The token the last save carried (``None`` if it carried none)."""
        return self._read_meta(plan_id).get("client_token")

    def history(self, plan_id: str) -> list[Path]:
        """Saved revisions kept for this plan, oldest first."""
        folder = self.state_dir / "history" / plan_id
        return sorted(folder.glob("*.json")) if folder.is_dir() else []

    # -- writing -----------------------------------------------------------------------------

    def normalise(self, plan_id: str, data: Any) -> dict[str, Any]:
        """Schema-check ``data`` and rewrite it through :class:`schema.Annotation`.

        The plan id becomes ``image_id`` when missing and the real pixel size is recorded.
        Raises :class:`InvalidAnnotation` with every schema violation.
        """
        if isinstance(data, dict) and not data.get("image_id"):
            data = {**data, "image_id": plan_id}
        problems = schema_problems(data, "annotation")
        if problems:
            raise InvalidAnnotation([Problem(p, p.split(":", 1)[0]) for p in problems])
        annotation = Annotation.from_dict(data)
        annotation.width, annotation.height = self.image_size(plan_id)
        return annotation.to_dict()

    def save(
        self,
        plan_id: str,
        data: Any,
        base_revision: int | None,
        source: str = "edit",
        force: bool = False,
        client_token: str | None = None,
    ) -> SaveResult:
        """Save an annotation next to the image, atomically and only over ``base_revision``.

        ``source="preannotation"`` marks the plan pre-annotated, ``"edit"`` marks it edited
        (an unchanged document keeps its revision and state).  ``force=True`` skips the
        revision check (the user chose to overwrite).  ``client_token`` is remembered so a
        browser can tell later that its last (unacknowledged) save arrived.
        Raises :class:`RevisionConflict` or :class:`InvalidAnnotation`.
        """
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        document = self.normalise(plan_id, data)
        payload = encode_annotation(document)
        with self._locked(plan_id):
            meta, raw = self._current(plan_id)
            if not force and base_revision != meta["revision"]:
                raise RevisionConflict(meta["revision"], base_revision)
            if raw == payload and meta["state"] != NOT_STARTED:
                if client_token is not None:
                    self._write_meta(plan_id, {**meta, "client_token": str(client_token)})
                return SaveResult(
                    meta["revision"], meta["state"], meta.get("updated_at") or _now(), document, []
                )
            revision = meta["revision"] + 1
            state = PRE_ANNOTATED if source == "preannotation" else EDITED
            meta = {**meta, "client_token": None if client_token is None else str(client_token)}
            self._commit(plan_id, payload, revision, state, meta)
        updated = self._read_meta(plan_id).get("updated_at", _now())
        return SaveResult(revision, state, updated, document, self.problems(plan_id, document))

    def mark_validated(self, plan_id: str, base_revision: int | None) -> SaveResult:
        """Mark the plan validated if its saved annotation has no problem at all.

        Raises :class:`InvalidAnnotation` listing the problems, :class:`RevisionConflict` if
        the plan changed since ``base_revision``, :class:`StoreError` if nothing is saved.
        """
        # Measured before taking the lock: image_size() may write the metadata under the same
        # lock, and flock on a second handle of the lock file would wait for ever.
        width, height = self.image_size(plan_id)
        with self._locked(plan_id):
            meta, raw = self._current(plan_id)
            if base_revision != meta["revision"]:
                raise RevisionConflict(meta["revision"], base_revision)
            if raw is None:
                raise StoreError(f"plan {plan_id!r} has no annotation to validate yet")
            try:
                data = json.loads(raw)
            except ValueError as exc:
                name = self.json_path(plan_id).name
                raise InvalidAnnotation([Problem(f"{name} is not valid JSON: {exc}")]) from exc
            problems = annotation_problems(data, width, height)
            if problems:
                raise InvalidAnnotation(problems)
            meta.update(state=VALIDATED, updated_at=_now())
            self._write_meta(plan_id, meta)
        return SaveResult(meta["revision"], VALIDATED, meta["updated_at"], data, [])

    def _commit(self, plan_id: str, payload: bytes, revision: int, state: str, meta: dict[str, Any]) -> None:
        """Write the JSON, then a history copy, then the metadata (caller holds the lock)."""
        atomic_write_bytes(self.json_path(plan_id), payload)
        self._keep_history(plan_id, revision, payload)
        meta = {
            **meta,
            "revision": revision,
            "state": state,
            "sha256": _sha256(payload),
            "updated_at": _now(),
        }
        self._write_meta(plan_id, meta)

    def _keep_history(self, plan_id: str, revision: int, payload: bytes) -> None:
        folder = self.state_dir / "history" / plan_id
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(folder / f"{revision:06d}.json", payload)
        for old in self.history(plan_id)[:-HISTORY_KEEP]:
            old.unlink(missing_ok=True)
