"""Safe output folders: every folder the engine writes goes through :class:`AtomicOutputDir`.

The rules (the same for ``solve``, ``batch``, ``compare``, ``alternatives``, the analyses,
``make-area``, ``bench`` and the ``<out>.infeasible`` diagnosis):

* **Ownership.** Every folder the engine creates carries a small marker file,
  ``.ruimteverdeling-run`` (JSON: writer, engine version, kind, created time, process, and the
  files the engine wrote in it). An output folder is replaced only when it does not exist, is
  empty, or carries that marker and holds nothing the engine did not write. Folders written by
  earlier versions (without a marker) count as the engine's when their own record proves it:
  a run's ``manifest.json`` with ``"complete": true`` (the files it lists, plus the analysis
  tables added later), a diagnosis's ``infeasibility.json``, a comparison's ``compare.json``,
  ``alternatives.csv``, a batch's ``batch.json`` or a synthetic area's ``area.yaml`` with its
  ``generator``. Anything else — a user's folder, ``.``, ``~``, a file, or a run folder in
  which a user saved a file of their own — is refused with :class:`OutputError` (exit code 2)
  naming the folder and the fix, and nothing is removed. ``-o`` that is, or contains, the
  current working folder, the scenario's folder or the study area's folder is always refused
  (an engine folder too: the command would lose its folder or delete its own inputs).
* **Checked before any work.** :func:`reserve` checks the location (a parent that is a file,
  an unwritable or virtual parent, a name too long for the file system, including the
  engine's hidden working names) and takes the lock before the scenario is solved.
* **Atomic and recoverable.** The new folder is written as ``.<name>.partial-<pid>`` beside
  the target, then swapped in: a journal ``.<name>.swap.json`` is written, the old target is
  renamed to ``.<name>.old-<pid>``, the new one to ``<name>``, the old one removed, the journal
  removed. A process killed at any point leaves either the previous complete folder or the new
  one at the target, or the journal and the folders to repair it: the next writer of the same
  target (and ``ruimteverdeling validate`` and ``ruimteverdeling clean``) rolls a half-done
  swap back to the previous complete folder, removes a finished swap's leftovers and the
  partial folders of dead processes (only folders carrying the marker), and says so on stderr.
* **One writer per folder.** ``.<name>.lock`` beside the target is locked with
  ``fcntl.flock`` (and holds the writer's process id and start time); a second process fails
  at once with the holder's id. The lock dies with its process, so a killed writer never
  blocks the next one; the file is removed on release.
* **Write errors** (a full disk, a file-size limit, a read-only file system) remove the
  partial folder, leave the previous folder intact and become an :class:`OutputError`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno as _errno
import json
import os
import re
import shutil
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from ruimteverdeling import __version__, yamlio
from ruimteverdeling.errors import InputError, Problem
from ruimteverdeling.jsonio import write_json as write_json  # the writer's JSON, re-exported

MARKER = ".ruimteverdeling-run"
WRITER = "ruimteverdeling"
KINDS = ("run", "diagnosis", "compare", "alternatives", "batch", "area")
# the longest suffix the engine adds to a target's name: ".<name>.infeasible.partial-<pid>"
NAME_RESERVE = len(".") + len(".infeasible") + len(".partial-") + 10
FAULT_ENV = "RUIMTEVERDELING_FAULT"

_PARTIAL = re.compile(r"^\.(?P<name>.+)\.partial-(?P<pid>\d+)$")
_ASIDE = re.compile(r"^\.(?P<name>.+)\.old-(?P<pid>\d+)$")
_LOCK = re.compile(r"^\.(?P<name>.+)\.lock$")
_JOURNAL = re.compile(r"^\.(?P<name>.+)\.swap\.json$")

Say = Callable[[str], None]


class OutputError(InputError):
    """The output folder cannot be written or must not be replaced (exit code 2)."""

    def __init__(self, target: str | Path, message: str, fix: str, option: str = "-o"):
        super().__init__(Problem(target, option, message, fix))
        self.target = Path(target)


def note(message: str) -> None:
    """What the writer did on its own (a recovery): always on stderr, even with ``-q``."""
    print(f"note: {message}", file=sys.stderr, flush=True)


def _fault(point: str) -> None:
    """Fault injection for the tests: ``RUIMTEVERDELING_FAULT=kill:<point>`` kills the
    process with SIGKILL at ``point``; ``wait:<point>`` says so on stderr and waits for a
    line on stdin. Points: ``locked``, ``writing``, ``before-swap``, ``between-renames``,
    ``after-swap``."""
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    action, _, where = spec.partition(":")
    if where != point:
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "wait":
        print(f"fault hook: process {os.getpid()} waits at {point}", file=sys.stderr,
              flush=True)
        sys.stdin.readline()


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


# ------------------------------------------------------------------------------------------------
# ownership: the marker and the records of earlier versions
# ------------------------------------------------------------------------------------------------
@dataclass
class Owner:
    """Proof that a folder is the engine's: its kind and what the engine wrote in it.

    ``files`` are paths relative to the folder; every file under a folder in ``dirs`` is the
    engine's too. Sub-folders with a proof of their own are judged by it.
    """

    kind: str
    files: set[str] = field(default_factory=set)
    dirs: set[str] = field(default_factory=set)
    legacy: bool = False
    created: str | None = None


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def read_marker(folder: str | Path) -> dict[str, Any] | None:
    data = _read_json(Path(folder) / MARKER)
    if isinstance(data, dict) and data.get("writer") == WRITER and data.get("kind") in KINDS:
        return data
    return None


def owner_of(folder: str | Path) -> Owner | None:
    """The engine's proof of ownership of ``folder``, or None (see the module docstring)."""
    folder = Path(folder)
    if not folder.is_dir() or folder.is_symlink():
        return None
    m = read_marker(folder)
    if m is not None:
        return Owner(m["kind"], {str(f) for f in m.get("files") or []},
                     {str(d) for d in m.get("dirs") or []}, created=m.get("created"))
    return _legacy_owner(folder)


def _legacy_owner(folder: Path) -> Owner | None:
    """Folders written before the marker existed, recognised by their own records."""
    manifest = _read_json(folder / "manifest.json")
    if isinstance(manifest, dict) and manifest.get("complete") is True and \
            isinstance(manifest.get("ruimteverdeling"), str) and \
            isinstance(manifest.get("outputs"), list):
        files = {str(n) for n in manifest["outputs"]} | {"manifest.json", "rule_costs.csv",
                                                         "pareto.csv", "pareto.png"}
        return Owner("run", files, {"points"}, legacy=True)
    diag = _read_json(folder / "infeasibility.json")
    if isinstance(diag, dict) and diag.get("complete_run") is False:
        return Owner("diagnosis", {"infeasibility.csv", "explanation.txt",
                                   "infeasibility.json"}, legacy=True)
    comp = _read_json(folder / "compare.json")
    if isinstance(comp, dict) and "reference" in comp and "alternatives" in comp:
        return Owner("compare", {"assessment.csv", "assessment_regions.csv", "assessment.md",
                                 "report.html", "compare.json"}, {"maps"}, legacy=True)
    if (folder / "alternatives.csv").is_file() and (folder / "optimum").is_dir():
        return Owner("alternatives", {"alternatives.csv"}, legacy=True)
    batch = _read_json(folder / "batch.json")
    if isinstance(batch, dict) and isinstance(batch.get("runs"), list):
        return Owner("batch", {"batch.csv", "batch.json"}, {"scenarios"}, legacy=True)
    area = folder / "area.yaml"
    if area.is_file():
        try:
            doc = yamlio.load_file(area, "area manifest")
        except InputError:  # unreadable, hostile or not YAML: not proof of an engine folder
            doc = None
        gen = doc.get("generator") if isinstance(doc, dict) else None
        if isinstance(gen, dict) and gen.get("name") == "ruimteverdeling make-area":
            layers = doc.get("layers") if isinstance(doc.get("layers"), dict) else {}
            files = {"area.yaml"} | {str(v["file"]) for v in layers.values()
                                     if isinstance(v, dict) and isinstance(v.get("file"), str)}
            return Owner("area", files, legacy=True)
    return None


def _is_working_file(path: Path) -> bool:
    """A lock file or swap journal the engine left beside one of its targets."""
    if not (_LOCK.match(path.name) or _JOURNAL.match(path.name)):
        return False
    with contextlib.suppress(OSError):
        if path.stat().st_size == 0:  # a lock file between creation and its first write
            return True
    data = _read_json(path)
    return isinstance(data, dict) and data.get("writer") == WRITER


def foreign_files(folder: str | Path, owner: Owner | None = None,
                  limit: int = 1000) -> list[str]:
    """The files in ``folder`` the engine did not write (relative paths), judged by the
    folder's own proof and, in sub-folders that have one, by theirs."""
    folder = Path(folder)
    owner = owner or owner_of(folder)
    out: list[str] = []

    def walk(d: Path, rel: str, own: Owner | None) -> None:
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError:
            out.append(rel.rstrip("/") or ".")
            return
        for e in entries:
            if len(out) >= limit:
                return
            path = rel + e.name
            if e.name == MARKER and rel == "":
                continue
            if e.is_dir(follow_symlinks=False):
                sub = owner_of(e.path)
                if sub is not None:
                    inner = foreign_files(e.path, sub, limit - len(out))
                    out.extend(f"{path}/{f}" for f in inner)
                elif own is not None and path in own.dirs:
                    continue
                else:
                    walk(Path(e.path), path + "/", own)
            elif (own is not None and path in own.files) or _is_working_file(Path(e.path)):
                continue
            else:
                out.append(path)

    walk(folder, "", owner)
    return out


def _listing(names: list[str], n: int = 4) -> str:
    shown = ", ".join(names[:n])
    return shown + (f" and {len(names) - n} more" if len(names) > n else "")


def _files_of(folder: Path) -> list[str]:
    """The files the engine wrote in ``folder`` (not those of sub-folders with their own
    marker), for the marker."""
    files: list[str] = []
    for root, dirs, names in os.walk(folder):
        rel = Path(root).relative_to(folder)
        keep = []
        for d in dirs:
            if read_marker(Path(root) / d) is None:
                keep.append(d)
        dirs[:] = keep
        for n in names:
            if rel == Path(".") and n == MARKER:
                continue
            files.append((rel / n).as_posix())
    return sorted(files)


def write_marker(folder: Path, kind: str, files: Iterable[str] = (),
                 dirs: Iterable[str] = (), created: str | None = None) -> None:
    write_text_atomic(folder / MARKER, json.dumps({
        "writer": WRITER, "version": __version__, "kind": kind,
        "created": created or _now(), "pid": os.getpid(), "host": socket.gethostname(),
        "files": sorted(set(files)), "dirs": sorted(set(dirs))}, indent=1) + "\n")


def register(folder: str | Path, files: Iterable[str] = (), dirs: Iterable[str] = ()) -> None:
    """Record files (and whole sub-folders) the engine added to one of its folders after
    writing it (an analysis table, the batch tables), so that the folder stays replaceable."""
    folder = Path(folder)
    m = read_marker(folder)
    if m is None:
        return
    write_marker(folder, m["kind"], {*(m.get("files") or []), *files},
                 {*(m.get("dirs") or []), *dirs}, m.get("created"))


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a text file under a temporary name and rename it into place."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


# ------------------------------------------------------------------------------------------------
# checking a location (no side effects)
# ------------------------------------------------------------------------------------------------
def resolve(target: str | Path) -> Path:
    p = Path(os.path.abspath(os.fspath(target)))
    try:
        return p.resolve()
    except (OSError, RuntimeError):
        return p


def _name_max(existing: Path) -> int:
    try:
        return int(os.pathconf(existing, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return 255


def _path_max(existing: Path) -> int:
    try:
        return int(os.pathconf(existing, "PC_PATH_MAX"))
    except (OSError, ValueError):
        return 4096


def _existing_ancestor(target: Path) -> Path:
    p = target
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    return p


_FIX = "choose another -o (a new or empty folder, or the folder of an earlier run)"


def _fix(option: str) -> str:
    return _FIX.replace("-o", option)


def _reserve(kind: str) -> int:
    """Bytes the engine adds to a target's name for its working names: ``.<name>.partial-<pid>``
    and, for a run, its diagnosis ``.<name>.infeasible.partial-<pid>``."""
    return NAME_RESERVE if kind == "run" else NAME_RESERVE - len(".infeasible")


def check_location(target: str | Path, *, kind: str = "run", option: str = "-o",
                   protect: Iterable[tuple[str, Path]] = (), default_hint: str = "") -> Path:
    """Check that ``target`` can be written (and, when it exists, replaced) by the engine;
    return its absolute path. Raises :class:`OutputError` naming the folder and the fix.

    ``protect``: ``(what, path)`` pairs — the working folder, the scenario's folder, the study
    area's folder — that ``target`` must not be, or contain. A folder the engine did not write
    never is; the engine's own folders neither when they hold the working folder (the command
    and the user's shell would lose their folder) or an input of the run.
    """
    shown = Path(target)
    path = resolve(target)
    fix = _fix(option)
    shorter = f"choose a shorter {option}{default_hint}"
    if path == path.parent:
        raise OutputError(shown, "is the root of the file system", fix, option)
    base = _existing_ancestor(path)
    folder = base if base.is_dir() else base.parent
    name_max, path_max, reserve = _name_max(folder), _path_max(folder), _reserve(kind)
    size = len(os.fsencode(str(path)))
    if size + reserve >= path_max:
        raise OutputError(shown, f"the path is {size} bytes long; this file system allows "
                          f"{path_max} (less {reserve} for the engine's working names)",
                          shorter, option)
    rest = path.relative_to(base).parts if base != path else ()
    for part in rest[:-1]:
        if len(os.fsencode(part)) > name_max:
            raise OutputError(shown, f"the folder name '{part[:40]}...' is "
                              f"{len(os.fsencode(part))} bytes long; this file system allows "
                              f"{name_max}", shorter, option)
    length = len(os.fsencode(path.name))
    if length + reserve > name_max:
        raise OutputError(shown, f"the folder name '{path.name[:40]}...' is {length} bytes "
                          f"long; this file system allows {name_max} bytes in a name and the "
                          f"engine needs {reserve} more for its working names, so at most "
                          f"{name_max - reserve}", shorter, option)
    if base == path:
        if not path.is_dir():
            raise OutputError(shown, "is a file, not a folder; it is never replaced", fix,
                              option)
        where = path.parent
    else:
        if not base.is_dir():
            raise OutputError(shown, f"{base} is a file, not a folder, so the output folder "
                              "cannot be created there", fix, option)
        where = base
    if not os.access(where, os.W_OK | os.X_OK):
        raise OutputError(shown, f"cannot write in {where}: permission denied or a read-only "
                          "file system", f"choose {option} in a folder you can write to", option)
    for what, p in protect:
        p = resolve(p)
        if p != path and path not in p.parents:
            continue
        own = owner_of(path)
        where = f"is {what}" if p == path else f"contains {what} ({p})"
        if what == CWD and own is not None:
            raise OutputError(shown, f"{where}; replacing it would pull the folder out from "
                              "under this command and your shell",
                              f"run the command from another folder (e.g. `cd ..`) or {fix}",
                              option)
        if own is None:
            msg = f"{where} and was not written by ruimteverdeling; writing the output there " \
                "would replace everything in it"
        else:
            msg = f"contains {what} ({p}), an input of this run; replacing the folder would " \
                "delete it"
        raise OutputError(shown, msg, f"{fix}, e.g. a folder under outputs/", option)
    if path.is_dir():
        check_replaceable(path, kind, option, shown)
    return path


CWD = "the current working folder"


def protected(scenario: Any = None, area: str | Path | None = None) -> list[tuple[str, Path]]:
    """The folders an output folder must not replace: the working folder, the folders of the
    scenario file (and the files it extends) and the study area's folder."""
    out: list[tuple[str, Path]] = []
    with contextlib.suppress(OSError):  # a working folder that was removed has no path
        out.append((CWD, Path.cwd()))
    if scenario is not None:
        chain = list(getattr(scenario, "chain", None) or [])
        path = getattr(scenario, "path", None)
        for f in {*chain, *([path] if path else [])}:
            out.append(("the scenario's folder", Path(f).parent))
        if area is None:
            with contextlib.suppress(Exception):
                area = scenario.area_path
    if area is not None:
        out.append(("the study area's folder", Path(area).parent))
    return out


def check_replaceable(path: Path, kind: str, option: str = "-o",
                      shown: Path | None = None) -> Owner | None:
    """Raise :class:`OutputError` unless the existing folder ``path`` may be replaced by a
    folder of ``kind``; return its proof (None for an empty folder)."""
    shown = shown or path
    fix = _fix(option)
    try:
        empty = not any(os.scandir(path))
    except OSError as exc:
        raise OutputError(shown, f"cannot read the folder: {exc.strerror}", fix,
                          option) from None
    if empty:
        return None
    own = owner_of(path)
    if own is None:
        try:
            names = sorted(e.name for e in os.scandir(path))
        except OSError:
            names = []
        raise OutputError(shown, f"this folder was not written by ruimteverdeling and holds "
                          f"{_count(len(names), 'entry', 'entries')} ({_listing(names)}); the "
                          "engine replaces only its own folders and never removes anything "
                          "else", f"{fix}, or move or remove this folder yourself", option)
    if own.kind == "batch" and kind != "batch":
        raise OutputError(shown, "is the folder of a batch (`ruimteverdeling batch`); it is "
                          f"not replaced by a single {kind}", f"{fix}, or remove the batch "
                          "folder yourself", option)
    if kind == "batch" and own.kind != "batch":
        raise OutputError(shown, f"is the folder of a single {own.kind}, not of a batch",
                          f"{fix.replace('an earlier run', 'an earlier batch')}, or remove "
                          "it yourself", option)
    foreign = foreign_files(path, own)
    if foreign:
        raise OutputError(shown, f"this {own.kind} folder of ruimteverdeling also holds "
                          f"{_count(len(foreign), 'file', 'files')} the engine did not write "
                          f"({_listing(foreign)}); replacing it would delete them",
                          f"move those files elsewhere, or {fix}", option)
    return own


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


# ------------------------------------------------------------------------------------------------
# the lock
# ------------------------------------------------------------------------------------------------
def lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


def journal_path(target: Path) -> Path:
    return target.parent / f".{target.name}.swap.json"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


class FolderBusyError(OutputError):
    """Another process is writing the output folder."""


def _busy(target: Path, shown: Path, option: str, holder: dict[str, Any] | None) -> FolderBusyError:
    if isinstance(holder, dict) and isinstance(holder.get("pid"), int):
        started = str(holder.get("started", "?")).replace("T", " ")
        who = f"process {holder['pid']} (started {started}"
        if holder.get("host") and holder.get("host") != socket.gethostname():
            who += f" on {holder['host']}"
        who += ")"
    else:
        who = "another process"
    err = FolderBusyError(shown, f"output folder {target} is being written by {who}",
                     f"wait for it or choose another {option}", option)
    err.holder = holder  # type: ignore[attr-defined]
    return err


_HELD: dict[Path, list[Any]] = {}  # target -> [fd, count, thread id]
_HELD_GUARD = threading.Lock()


def _acquire(target: Path, shown: Path, option: str, wait: bool) -> bool:
    """Lock ``target`` for this process; True when this call took the lock (False: this
    thread already held it). Raises FolderBusyError or OutputError."""
    import fcntl  # POSIX only: deferred so that the module still imports where it is missing

    with _HELD_GUARD:
        held = _HELD.get(target)
        if held is not None:
            if held[2] != threading.get_ident():
                raise _busy(target, shown, option, {"pid": os.getpid(), "started": "now",
                                                    "host": socket.gethostname()})
            held[1] += 1
            return False
    path = lock_path(target)
    for _ in range(100):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise OutputError(shown, f"cannot write in {target.parent}: {exc.strerror}",
                              f"choose {option} in a folder you can write to",
                              option) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = _read_json(path)
            os.close(fd)
            raise _busy(target, shown, option, holder) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # the previous holder removed it as we waited: lock the new file
            os.close(fd)
            continue
        info = {"writer": WRITER, "pid": os.getpid(), "host": socket.gethostname(),
                "started": _now(), "target": str(target)}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        with _HELD_GUARD:
            _HELD[target] = [fd, 1, threading.get_ident()]
        return True
    raise OutputError(shown, "could not lock the output folder", f"try again or "
                      f"{_fix(option)}", option)


def _release(target: Path) -> None:
    with _HELD_GUARD:
        held = _HELD.get(target)
        if held is None:
            return
        held[1] -= 1
        if held[1] > 0:
            return
        del _HELD[target]
    with contextlib.suppress(OSError):
        os.unlink(lock_path(target))  # while still holding it: see _acquire
    os.close(held[0])


def holds_lock(target: str | Path) -> bool:
    return resolve(target) in _HELD


# ------------------------------------------------------------------------------------------------
# recovery
# ------------------------------------------------------------------------------------------------
def _rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def recover(target: str | Path, say: Say = note) -> list[str]:
    """Repair what killed writers left at ``target`` (call with the lock held): roll a
    half-done swap back, remove a finished swap's old folder, remove the partial folders of
    dead processes. Returns (and says) what was done."""
    target = resolve(target)
    parent, name = target.parent, target.name
    done: list[str] = []

    def tell(msg: str) -> None:
        done.append(msg)
        say(msg)

    journal = journal_path(target)
    j = _read_json(journal) if journal.exists() else None
    if isinstance(j, dict) and j.get("writer") == WRITER:
        pid = j.get("pid")
        partial = parent / str(j.get("partial")) if j.get("partial") else None
        aside = parent / str(j.get("aside")) if j.get("aside") else None
        has_partial = partial is not None and partial.is_dir() and owner_of(partial)
        has_aside = aside is not None and aside.is_dir() and owner_of(aside)
        if not target.exists() and has_aside:
            assert aside is not None
            os.rename(aside, target)
            tell(f"recovered {target}: process {pid} was killed while replacing it; the "
                 "previous complete folder is restored")
        if has_partial and partial is not None:
            _rmtree(partial)
            tell(f"removed {partial.name}: the unfinished new folder of process {pid} "
                 f"(killed before it replaced {name})")
        if has_aside and aside is not None and aside.exists() and target.exists():
            _rmtree(aside)
            tell(f"removed {aside.name}: the previous folder that process {pid} had "
                 f"already replaced with the new {name}")
        journal.unlink()
    elif journal.exists() and j is None:
        journal.unlink()
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return done
    asides = []
    for e in entries:
        m = _PARTIAL.match(e.name) or _ASIDE.match(e.name)
        if m is None or m.group("name") != name or not e.is_dir(follow_symlinks=False):
            continue
        pid = int(m.group("pid"))
        if pid == os.getpid() or _alive(pid):
            continue
        own = owner_of(e.path)
        if own is None:
            tell(f"left {e.name} alone: it looks like a leftover of an interrupted run but "
                 "carries no ruimteverdeling marker; remove it yourself if it is")
            continue
        if _PARTIAL.match(e.name):
            _rmtree(Path(e.path))
            tell(f"removed {e.name}: the unfinished folder of process {pid}, which was "
                 "killed while writing")
        else:
            asides.append(Path(e.path))
    if asides and not target.exists():
        newest = max(asides, key=lambda p: p.stat().st_mtime)
        os.rename(newest, target)
        asides.remove(newest)
        tell(f"recovered {target}: restored the previous complete folder from {newest.name} "
             "(its writer was killed while replacing it)")
    for a in asides:
        _rmtree(a)
        tell(f"removed {a.name}: a previous folder already replaced by {name}")
    return done


# ------------------------------------------------------------------------------------------------
# reservations and the atomic writer
# ------------------------------------------------------------------------------------------------
class Reservation:
    """Check an output location, create its parents, lock it and repair leftovers — before
    any work is done; held (re-entrantly, per thread) until the work is written.

    ``claim`` makes the target itself exist with the engine's marker (batch and compare
    folders, whose sub-folders are written first). ``wait`` blocks on the lock instead of
    failing (shared caches).
    """

    def __init__(self, target: str | Path, kind: str = "run", *, option: str = "-o",
                 protect: Iterable[tuple[str, Path]] = (), claim: bool = False,
                 wait: bool = False, say: Say = note, default_hint: str = ""):
        self.shown = Path(target)
        self.kind, self.option, self.protect = kind, option, list(protect)
        self.claim, self.wait, self.say, self.hint = claim, wait, say, default_hint
        self.target = resolve(target)
        self._created: list[Path] = []
        self._claimed = False
        self._locked = False
        self.recovered: list[str] = []

    def __enter__(self) -> Reservation:
        self.target = check_location(self.shown, kind=self.kind, option=self.option,
                                     protect=self.protect, default_hint=self.hint)
        try:
            self._make_parents()
            first = _acquire(self.target, self.shown, self.option, self.wait)
            self._locked = True
            if first:  # not already held by this thread
                _fault("locked")
                try:
                    self.recovered = recover(self.target, self.say)
                except OSError as exc:
                    raise OutputError(self.shown, "could not repair what an interrupted run "
                                      f"left beside the folder: {exc}", "check the "
                                      f"permissions of {self.target.parent}, or "
                                      f"{_fix(self.option)}", self.option) from None
                if self.target.exists() and not self.target.is_dir():
                    raise OutputError(self.shown, "is a file, not a folder; it is never "
                                      "replaced", _fix(self.option), self.option)
                if self.target.is_dir():
                    check_replaceable(self.target, self.kind, self.option, self.shown)
            if self.claim:
                self._claim()
        except BaseException:
            self._cleanup()
            raise
        return self

    def _make_parents(self) -> None:
        missing = []
        p = self.target.parent
        while not p.exists():
            missing.append(p)
            p = p.parent
        for d in reversed(missing):
            try:
                d.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                raise OutputError(self.shown, f"cannot create the folder {d}: {exc.strerror}",
                                  f"choose {self.option} in a folder you can write "
                                  "to", self.option) from None
            self._created.append(d)

    def _claim(self) -> None:
        if not self.target.exists():
            try:
                self.target.mkdir()
            except OSError as exc:
                raise OutputError(self.shown, f"cannot create the folder: {exc.strerror}",
                                  _fix(self.option), self.option) from None
            self._claimed = True
            write_marker(self.target, self.kind)
            return
        own = owner_of(self.target)
        if own is None:  # an empty folder (checked above)
            write_marker(self.target, self.kind)
            self._claimed = True
        elif own.legacy:  # keep the earlier version's record, now as a marker
            write_marker(self.target, own.kind, own.files, own.dirs)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._cleanup()

    def _cleanup(self) -> None:
        if self._claimed:  # a claimed folder in which nothing was written goes again
            with contextlib.suppress(OSError):
                if [e.name for e in os.scandir(self.target)] == [MARKER]:
                    (self.target / MARKER).unlink()
                    self.target.rmdir()
        if self._locked:
            _release(self.target)
            self._locked = False
        for d in reversed(self._created):  # parents made for a folder that never came
            with contextlib.suppress(OSError):
                d.rmdir()
        self._created = []


def reserve(target: str | Path, kind: str = "run", **kwargs: Any) -> Reservation:
    """A :class:`Reservation` (use as a context manager)."""
    return Reservation(target, kind, **kwargs)


class AtomicOutputDir:
    """``with AtomicOutputDir(target, kind) as tmp: ...write into tmp...`` — swapped in when
    the block completes; see the module docstring for the rules it enforces."""

    def __init__(self, target: str | Path, kind: str = "run", *, option: str = "-o",
                 say: Say = note, wait: bool = False):
        if kind not in KINDS:
            raise ValueError(f"unknown folder kind {kind!r}")
        self.kind, self.option, self.say = kind, option, say
        self.shown = Path(target)
        self.target = resolve(target)
        self.tmp = self.target.parent / f".{self.target.name}.partial-{os.getpid()}"
        self._res = Reservation(target, kind, option=option, say=say, wait=wait)
        self.replaced = False

    def __enter__(self) -> Path:
        self._res.__enter__()
        try:
            if self.tmp.exists() and owner_of(self.tmp) is not None:
                _rmtree(self.tmp)
            self.tmp.mkdir()
            write_marker(self.tmp, self.kind)
            _fault("writing")
        except OSError as exc:
            _rmtree(self.tmp)
            self._res.__exit__(None, None, None)
            raise self._write_error(exc, during="creating the working folder") from exc
        except BaseException:  # Ctrl-C between the mkdir and the return: no folder stays
            _rmtree(self.tmp)
            self._res.__exit__(None, None, None)
            raise
        return self.tmp

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc_type is not None:
                _rmtree(self.tmp)
                if isinstance(exc, OSError) and not isinstance(exc, InputError):
                    raise self._write_error(exc) from exc
                return
            try:
                self._commit()
            except OSError as err:
                _rmtree(self.tmp)
                raise self._write_error(err, during="swapping the new folder in") from err
        finally:
            self._res.__exit__(None, None, None)

    def _commit(self) -> None:
        marker = read_marker(self.tmp) or {}
        write_marker(self.tmp, self.kind, _files_of(self.tmp), (), marker.get("created"))
        target, parent = self.target, self.target.parent
        if target.exists():  # whatever happened during the work: check again
            try:
                check_replaceable(target, self.kind, self.option, self.shown)
            except OutputError:
                _rmtree(self.tmp)
                raise
        aside = parent / f".{target.name}.old-{os.getpid()}" if target.exists() else None
        if aside is not None and aside.exists() and owner_of(aside) is not None:
            _rmtree(aside)
        journal = journal_path(target)
        # written in place: a journal cut short by a kill means no rename had happened yet
        with open(journal, "w", encoding="utf-8") as fh:
            fh.write(json.dumps({
                "writer": WRITER, "pid": os.getpid(), "started": _now(), "target": target.name,
                "partial": self.tmp.name, "aside": aside.name if aside else None}) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            _fault("before-swap")
            if aside is not None:
                os.rename(target, aside)
                self.replaced = True
            _fault("between-renames")
            try:
                os.rename(self.tmp, target)
            except OSError:
                if aside is not None:
                    os.rename(aside, target)
                raise
            _fault("after-swap")
            if aside is not None:
                _rmtree(aside)
        finally:
            with contextlib.suppress(OSError):
                journal.unlink()

    def _write_error(self, exc: OSError, during: str = "") -> OutputError:
        return write_error(self.shown, exc, self.target.parent, self.option,
                           previous=self.target.exists(), during=during)


def write_error(shown: Path, exc: OSError, where: Path, option: str = "-o",
                previous: bool = False, during: str = "") -> OutputError:
    """An :class:`OutputError` for an OSError (a full disk, a size limit, a read-only file
    system) met while writing ``shown``."""
    code = exc.errno
    reason = exc.strerror or str(exc)
    free = None
    try:
        st = os.statvfs(where)
        free = st.f_bavail * st.f_frsize
    except OSError:
        pass
    if code is None and free is not None and free < 1 << 20:
        code, reason = _errno.ENOSPC, f"{exc} — no space left on device ({free:,} bytes free)"
    what = f" {exc.filename}" if getattr(exc, "filename", None) else ""
    if code in (_errno.ENOSPC, _errno.EDQUOT):
        fix = f"free space on that disk (or choose {option} on another disk) and run again"
    elif code == _errno.EFBIG:
        fix = ("a file-size limit (`ulimit -f`) or the file system refuses files this large: "
               f"raise the limit or choose {option} on another file system")
    elif code in (_errno.EROFS, _errno.EACCES, _errno.EPERM):
        fix = f"choose {option} in a folder you can write to"
    else:
        fix = f"check the disk and the folder, or choose another {option}"
    kept = "the previous folder there is intact" if previous else "nothing was left behind"
    during = f" ({during})" if during else ""
    return OutputError(shown, f"the output could not be written{during}: {reason}{what}; "
                       f"{kept}", fix, option)


# ------------------------------------------------------------------------------------------------
# removing, inspecting and cleaning
# ------------------------------------------------------------------------------------------------
def remove_engine_folder(folder: str | Path, kind: str | None = None) -> bool:
    """Remove ``folder`` when it is the engine's (of ``kind``) and holds nothing else; True
    when removed. Never raises for a folder that is not the engine's: it stays."""
    folder = resolve(folder)
    if not folder.is_dir():
        return False
    own = owner_of(folder)
    if own is None or (kind is not None and own.kind != kind) or foreign_files(folder, own):
        return False
    try:
        with Reservation(folder, own.kind, say=note):
            _rmtree(folder)
    except InputError:
        return False
    return True


def describe(target: str | Path, *, kind: str = "run", option: str = "-o",
             protect: Iterable[tuple[str, Path]] = (), say: Say = note) -> str:
    """What writing to ``target`` would do, after repairing leftovers of killed writers
    (``ruimteverdeling validate``). Raises OutputError when it would be refused."""
    try:
        with Reservation(target, kind, option=option, protect=protect, say=say) as res:
            path = res.target
            if not path.exists():
                return "new folder"
            own = owner_of(path)
            if own is None:
                return "empty folder"
            manifest = _read_json(path / "manifest.json")
            extra = ""
            if isinstance(manifest, dict) and manifest.get("complete") is True:
                extra = f", finished {manifest.get('finished', '?')}, status " \
                        f"{manifest.get('status', '?')}"
            return f"an earlier {own.kind} folder of ruimteverdeling{extra}: will be replaced"
    except FolderBusyError as exc:
        return exc.problems[0].message


def _working_target(name: str) -> str | None:
    """The target name of a working entry (partial, old, lock or journal), else None."""
    for pattern in (_PARTIAL, _ASIDE, _LOCK, _JOURNAL):
        m = pattern.match(name)
        if m is not None:
            return m.group("name")
    return None


def clean(folders: Iterable[str | Path], say: Say = note) -> list[str]:
    """Repair or remove what killed writers left for each of ``folders`` and for every
    target inside them (the same repair every writer does for its own target): half-done
    swaps, old folders, partial folders of dead processes, stale lock files. Returns what was
    done; a folder another process is writing is left alone."""
    done: list[str] = []
    for folder in folders:
        folder = resolve(folder)
        targets: set[Path] = set()
        with contextlib.suppress(OSError):
            if any(_working_target(e.name) == folder.name for e in os.scandir(folder.parent)):
                targets.add(folder)
        if folder.is_dir():
            with contextlib.suppress(OSError):
                for e in os.scandir(folder):
                    name = _working_target(e.name)
                    if name is not None:
                        targets.add(folder / name)
        for t in sorted(targets):
            had_lock = lock_path(t).exists()
            try:
                took = _acquire(t, t, "-o", wait=False)
            except FolderBusyError as exc:
                msg = f"left {t} alone: {exc.problems[0].message}"
                say(msg)
                done.append(msg)
                continue
            except OutputError as exc:
                say(f"cannot clean {t}: {exc.problems[0].message}")
                continue
            try:
                done += recover(t, say)
            except OSError as exc:
                say(f"cannot repair {t}: {exc}")
            finally:
                if took:
                    _release(t)
            if had_lock and took:
                msg = f"removed {lock_path(t).name}: a lock file left by a killed process"
                say(msg)
                done.append(msg)
    return done
