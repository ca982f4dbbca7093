"""NTFS file and directory security set through ONTAP's CLI (``vserver security
file-directory ...``), applied onto what REST shows: ``/api/protocols/file-security/
permissions/{svm.uuid}/{path}``.

Security descriptors (``ntfs``), their DACL and SACL entries, policies and policy tasks have
no REST records: they are CLI-only tables of the store (INFERRED: REST shows only what an
``apply`` set). ``vserver security file-directory apply`` runs a policy's tasks in
``index_num`` order: each task's path gets the owner, group and control flags of its
security descriptors and their DACL (``access_allow``/``access_deny``) and SACL
(``audit_success``/``audit_failure``) entries, replacing what the path had (the simulator
models the path itself, not the files below it: ``ntfs_mode`` is kept, not propagated,
INFERRED simplification). A task's path must be ``/`` or lie below the junction path of a
volume of the SVM: otherwise 655865 ("The specified file or directory does not exist", the
code Trident's client lists for REST's ACL create).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ...errors import ApiError

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["ACES", "POLICIES", "SDS", "TASKS", "rest_acls", "rest_path", "task_paths_exist"]

Record = dict[str, Any]
SDS = "cli:vserver/security/file-directory/ntfs"
ACES = "cli:vserver/security/file-directory/ntfs/ace"
POLICIES = "cli:vserver/security/file-directory/policy"
TASKS = "cli:vserver/security/file-directory/policy/task"
#: The CLI's access types and REST's ``acls.access``.
ACCESS = {
    "allow": "access_allow",
    "deny": "access_deny",
    "success": "audit_success",
    "failure": "audit_failure",
}


def rest_path(path: str) -> str:
    """The ``{path}`` value of REST's record for a CLI path (``/v1/dir`` -> ``v1/dir``): what
    routing hands the store for ``v1%2Fdir``, the form ONTAP's clients send, once the server
    has decoded it (the route's last variable takes ``/``)."""
    return path.lstrip("/")


def rest_acls(store: Store, vserver: str, sd: str) -> list[Record]:
    """The ACEs of security descriptor ``sd`` as REST's ``acls`` (DACL first, then SACL)."""
    with store.lock:
        aces = [
            a
            for a in store.tables.get(ACES, {}).values()
            if a["vserver"] == vserver and a["ntfs_sd"] == sd
        ]
    aces.sort(key=lambda a: a["access_type"] in ("success", "failure"))
    found = []
    for ace in aces:
        applied = set(ace.get("apply_to") or [])
        found.append(
            {
                "user": ace["account"],
                "access": ACCESS[ace["access_type"]],
                "rights": str(ace.get("rights", "full-control")).replace("-", "_"),
                "apply_to": {
                    "this_folder": "this-folder" in applied,
                    "sub_folders": "sub-folders" in applied,
                    "files": "files" in applied,
                },
            }
        )
    return found


def task_paths_exist(
    path: str, junctions: list[str], refuse: Callable[[str], ApiError] | None = None
) -> None:
    """655865 unless ``path`` is ``/`` or lies below one of the SVM's ``junctions``."""
    inside = path == "/" or any(
        j and (path == j or path.startswith(j.rstrip("/") + "/")) for j in junctions
    )
    if not inside:
        raise ApiError(
            404, "655865", f'The specified file or directory "{path}" does not exist.', "path"
        )


def descriptors(store: Store, vserver: str) -> Mapping[str, Record]:
    """The SVM's security descriptors by name."""
    with store.lock:
        return {
            r["ntfs_sd"]: r for r in store.tables.get(SDS, {}).values() if r["vserver"] == vserver
        }
