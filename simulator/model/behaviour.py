"""The seam where a deep model layers ONTAP's rules on a generic resource.

A :class:`Behaviour` names its resource and overrides what it needs; the store calls it at
fixed points of every write and read, so a deep model never holds a second copy of a
record's shape (fields, types, keys and references still come from the declaration):

- ``prepare_post(store, data)``: after the body is checked, required fields are present and
  references are resolved, before keys are generated and duplicates refused: fill defaults
  and derived fields, refuse what ONTAP refuses (raise :class:`~simulator.errors.ApiError`);
- ``prepare_patch(store, record, changes)``: likewise for a PATCH of ``record``;
- ``recheck_patch(store, record, changes)``: when a PATCH applies (its job's end), before
  ``changes`` (as ``prepare_patch`` left them) merge into ``record``: refuse what changed
  meanwhile (a snapshot to restore deleted: raise ApiError, the job fails with its code and
  nothing applies), and take out what is not stored (``changes`` may be edited);
- ``check_delete(store, record)``: refuse a DELETE (a record still in use, ...);
- ``applied(store, event, record)``: side effects once a write has applied (``event`` is
  ``"post"``, ``"patch"`` or ``"delete"``; ``record`` as stored, or as it was for a delete);
  raise :class:`~simulator.jobs.EffectError` to fail the job instead;
- ``render(store, record)``: fields derived on read (sizes, states), on a copy;
- ``holds(store, kind, record)``: why ``record`` keeps the record of resource ``kind`` it
  refers to from being deleted (a LUN holds its volume): an ApiError to answer, or None;
- ``goes_with(store, kind, record)``: whether ``record`` is deleted with the record of
  resource ``kind`` it refers to (a LUN map with its LUN; by default, any record with its
  SVM, as ``vserver delete`` deletes an SVM's objects) when :meth:`Store.release
  <simulator.model.store.Store.release>` is told that record is gone; the store then deletes
  it and runs its ``applied(..., "delete", ...)``, which may release what goes with it.
- ``refers(store, record)``: ``(resource, uuid)`` of records ``record`` refers to beyond its
  declared references (a SnapMirror relationship names its volumes by path), so that
  ``holds`` is asked about them too;
- ``seed(store)``: insert the records ONTAP creates itself (built-in policies, schedules),
  when the store starts and after every reset;
- ``sync(store)``: before the store reads or writes the resource, bring the records it derives
  from others up to date (an SVM's default export policy exists while the SVM does);
- ``prepare_body(store, body, method)``: edit a write's body (dotted names expanded) before it
  is checked against the declaration: spellings ONTAP takes that a JSON type check refuses;
- ``make_room(store, key, record, apply)``: whether a POST may take the key of an existing
  record, which then moves along (an export rule inserted at a taken index); moves it when
  ``apply`` is true.

- ``location(store, record)``: the ``Location`` a POST answers (None: the record's own path;
  ONTAP answers ``/api/storage/volumes/?name=v1`` for a volume);
- ``job_svm(store, record)``: the SVM a job on ``record`` shows (None: the SVM it names), for
  records that are an SVM or show it with its ``_links``.

``params`` names a write's own query arguments besides bulk filters, by method
(``{"DELETE": {"allow_delete_while_mapped"}}``; ``return_timeout`` and ``return_records`` are
the caller's, never in the store's query); while a hook runs, :attr:`Store.query
<simulator.model.store.Store.query>` holds the write's arguments.
``required_post`` replaces the POST's required fields where the compiled declaration's are
wrong, ``unknown_reference`` gives ONTAP's error code for a reference naming no record,
``unique_within`` says where names are unique, ``takes`` names declared fields a method takes
although the declaration's lists leave them out (a volume PATCH naming its own SVM),
``extra_fields`` declares fields ONTAP takes that the declaration lacks, ``unchecked`` names
references kept as given, never looked up (a volume's policies, which ONTAP resolves by name
later), ``computed`` shows the fields netapp-ontap lists as expensive without ``fields``
naming them (the model derives them at no cost, as the storage models always have), and
``rendered`` makes :meth:`Store.records_of <simulator.model.store.Store.records_of>` return
the resource's records as a GET shows them (derived fields included), for the other models
that read them.

Hooks run under the store's lock. Behaviours are registered in :data:`BEHAVIOURS` by the
modules of :mod:`simulator.model.deep`; their ``seed`` hooks run in registration order (the
cluster's first: it loads the starting inventory every other model builds on).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    from ..errors import ApiError
    from .spec import FieldSpec
    from .store import Store

__all__ = ["BEHAVIOURS", "Behaviour", "Event", "register"]

Record = dict[str, Any]
Event = Literal["post", "patch", "delete"]


class Behaviour:
    """Rules of one resource (by its declaration's name); every hook does nothing by default."""

    resource: ClassVar[str] = ""
    params: ClassVar[Mapping[str, frozenset[str]]] = {}
    #: The POST's required field groups (one of each), or None for the declaration's.
    required_post: ClassVar[tuple[tuple[str, ...], ...] | None] = None
    #: ONTAP's error code for a reference naming no record, by field (``{"volume": "917525"}``).
    unknown_reference: ClassVar[Mapping[str, str]] = {}
    #: Fields within which names are unique (``("node.uuid",)`` for ports), or None for the
    #: record's SVM and parent keys.
    unique_within: ClassVar[tuple[str, ...] | None] = None
    #: Declared fields a method (``"post"``, ``"patch"``) takes beyond the declaration's lists.
    takes: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    #: Fields ONTAP takes that the declaration lacks, by dotted name.
    extra_fields: ClassVar[Mapping[str, FieldSpec]] = {}
    #: References kept as given (never looked up, never refused).
    unchecked: ClassVar[frozenset[str]] = frozenset()
    #: Whether :meth:`Store.records_of` gives the records rendered (derived fields included).
    rendered: ClassVar[bool] = False
    #: Whether a GET shows the expensive fields without ``fields`` naming them.
    computed: ClassVar[bool] = False

    def sync(self, store: Store) -> None:
        """Bring the records derived from other resources up to date (under the lock)."""

    def prepare_body(self, store: Store, body: Record, method: Literal["post", "patch"]) -> None:
        """Edit ``body`` (dotted names expanded) before it is checked against the declaration."""

    def make_room(self, store: Store, key: tuple[str, ...], record: Record, apply: bool) -> bool:
        """Whether a new ``record`` may take ``key`` although a record holds it (moved along,
        when ``apply``, before the new one is stored); False refuses the duplicate."""
        return False

    def prepare_post(self, store: Store, data: Record) -> None:
        """Fill defaults and refuse what ONTAP refuses, before the record's keys exist."""

    def prepare_patch(self, store: Store, record: Record, changes: Record) -> None:
        """Check and complete ``changes`` to ``record`` (both may be read, ``changes`` edited)."""

    def recheck_patch(self, store: Store, record: Record, changes: Record) -> None:
        """Raise ApiError to fail a PATCH applying ``changes`` to ``record`` now."""

    def check_delete(self, store: Store, record: Record) -> None:
        """Raise ApiError to refuse deleting ``record``."""

    def applied(self, store: Store, event: Event, record: Record) -> None:
        """Side effects of a write that applied."""

    def render(self, store: Store, record: Record) -> Record:
        """``record`` as GET shows it (a copy: add derived fields freely)."""
        return record

    def holds(self, store: Store, kind: str, record: Record) -> ApiError | None:
        """Why ``record`` keeps the ``kind`` record it refers to from being deleted, or None."""
        return None

    def goes_with(self, store: Store, kind: str, record: Record) -> bool:
        """Whether ``record`` is deleted with the ``kind`` record it refers to: with its SVM
        (what must go first refuses the SVM's deletion through :meth:`holds`)."""
        return kind == "Svm"

    def refers(self, store: Store, record: Record) -> Iterable[tuple[str, str]]:
        """``(resource, uuid)`` of records ``record`` names outside its declared references."""
        return ()

    def seed(self, store: Store) -> None:
        """Insert the built-in records of this resource (or of those its rules need)."""

    def location(self, store: Store, record: Record) -> str | None:
        """The ``Location`` a POST creating ``record`` answers, or None for its own path."""
        return None

    def job_svm(self, store: Store, record: Record) -> Record | None:
        """The SVM a job writing ``record`` shows, or None for the one ``record`` names."""
        return None


#: The behaviour of each deep resource, by its declaration's name.
BEHAVIOURS: dict[str, Behaviour] = {}


def register(behaviour: type[Behaviour]) -> type[Behaviour]:
    """Class decorator: make ``behaviour`` the rules of its ``resource``."""
    BEHAVIOURS[behaviour.resource] = behaviour()
    return behaviour
