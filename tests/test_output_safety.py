"""Output folders never cost a user a file: refused folders, killed writers, races, full disks.

Every data-loss test keeps a user's file (``thesis.txt``) where a careless ``-o`` would hit it
and checks that it survives the refused, failed or killed write. Faults are real: SIGKILL at a
well-defined point of the folder swap (the writer's fault hook), a second process, a small
tmpfs that fills up, a file-size limit (RLIMIT_FSIZE).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ruimteverdeling import api, batch
from ruimteverdeling.cli import main
from ruimteverdeling.errors import InputError
from ruimteverdeling.results import writer as wr

from areas import hand_case

EXE = str(Path(sys.executable).parent / "ruimteverdeling")
THESIS = "my thesis, four years of work\n"


def invoke(*args: object) -> object:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def cli(*args: object, env: dict[str, str] | None = None, cwd: Path | None = None,
        preexec: object = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
                          preexec_fn=preexec, timeout=120)  # type: ignore[arg-type]


def user_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "thesis.txt").write_text(THESIS)
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(parent: Path) -> list[str]:
    """The engine's working entries (partial, old, lock, journal) in ``parent``."""
    return sorted(e.name for e in os.scandir(parent) if wr._working_target(e.name))


@pytest.fixture
def case(tmp_path: Path) -> Path:
    """The 3×3 hand case (solves in well under a second)."""
    return hand_case(tmp_path / "case")


# ------------------------------------------------------------------------------------------------
# folders the engine did not write are refused, before any work, and kept
# ------------------------------------------------------------------------------------------------
def _command(kind: str, case: Path, out: Path) -> list[object]:
    return {
        "solve": ["solve", case, "-o", out],
        "shadow-prices": ["shadow-prices", case, "-o", out],
        "alternatives": ["alternatives", case, "--count", "1", "-o", out],
        "batch": ["batch", case, "-o", out, "--workers", "1"],
        "compare": ["compare", case, case, "-o", out],
        "make-area": ["make-area", out, "--cells", "30"],
    }[kind]


@pytest.mark.parametrize("kind", ["solve", "shadow-prices", "alternatives", "batch", "compare",
                                  "make-area"])
def test_a_users_folder_is_refused_by_every_command(case: Path, tmp_path: Path,
                                                    kind: str) -> None:
    precious = user_folder(tmp_path / "precious")
    before = sorted(os.listdir(tmp_path))
    r = invoke(*_command(kind, case, precious))
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    assert "precious" in r.output and "thesis.txt" in r.output
    assert "not written by ruimteverdeling" in r.output
    assert "fix: choose another" in r.output and "remove this folder yourself" in r.output
    assert "solving" not in r.output and "reading study area" not in r.output  # no work done
    assert (precious / "thesis.txt").read_text() == THESIS
    assert sorted(os.listdir(precious)) == ["thesis.txt"]
    assert sorted(os.listdir(tmp_path)) == before  # no lock, no partial, nothing


def test_a_run_folder_holding_a_users_file_is_not_replaced(case: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("solve", case, "-o", out, "-q").exit_code == 0
    (out / "thesis.txt").write_text(THESIS)  # e.g. a QGIS project saved beside the maps
    run = snapshot(out)
    r = invoke("solve", case, "-o", out, "-q")
    assert r.exit_code == 2, r.output
    assert "also holds 1 file the engine did not write (thesis.txt)" in r.output
    assert "move those files elsewhere" in r.output
    assert snapshot(out) == run and not leftovers(tmp_path)
    (out / "thesis.txt").unlink()
    r = invoke("solve", case, "-o", out, "-q")
    assert r.exit_code == 0, r.output
    assert json.loads((out / "manifest.json").read_text())["complete"] is True
    assert not leftovers(tmp_path)


def test_the_working_folder_and_its_parents_are_refused(case: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    proj = case.parent
    monkeypatch.chdir(proj)
    (proj / "thesis.txt").write_text(THESIS)
    before = snapshot(tmp_path)
    r = invoke("solve", case.name, "-o", ".", "-q")
    assert r.exit_code == 2, r.output
    assert "is the current working folder and was not written by ruimteverdeling" in r.output
    r = invoke("solve", case.name, "-o", "..", "-q")
    assert r.exit_code == 2, r.output
    assert f"contains the current working folder ({proj})" in r.output
    r = invoke("solve", case.name, "-o", "area", "-q")  # the study area's own folder
    assert r.exit_code == 2 and "study area's folder" in r.output, r.output
    assert snapshot(tmp_path) == before


def test_not_even_an_earlier_run_folder_that_is_the_working_folder(
        case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    api.solve(case, out)
    run = snapshot(out)
    monkeypatch.chdir(out)
    r = invoke("solve", case, "-o", ".", "-q")
    assert r.exit_code == 2, r.output
    assert "is the current working folder; replacing it would pull the folder out" in r.output
    assert "fix: run the command from another folder (e.g. `cd ..`)" in r.output
    assert snapshot(out) == run and not leftovers(tmp_path)


def test_a_run_never_replaces_a_folder_holding_its_own_inputs(case: Path,
                                                              tmp_path: Path) -> None:
    """Even an engine folder is not replaced when the scenario or area lives inside it."""
    folder = tmp_path / "out"
    api.solve(case, folder)
    inner = folder / "sub"
    shutil.copytree(case.parent, inner)
    wr.register(folder, [p.relative_to(folder).as_posix() for p in inner.rglob("*")
                         if p.is_file()])  # as if the engine had written them
    with pytest.raises(InputError, match="an input of this run"):
        api.solve(inner / case.name, folder)
    assert (inner / case.name).is_file()


# ------------------------------------------------------------------------------------------------
# bad locations: exit 2 with the path and the fix, before the scenario is solved
# ------------------------------------------------------------------------------------------------
def test_a_parent_that_is_a_file(case: Path, tmp_path: Path) -> None:
    f = tmp_path / "thesis.txt"
    f.write_text(THESIS)
    r = invoke("solve", case, "-o", f / "sub")
    assert r.exit_code == 2, r.output
    assert f"{f} is a file, not a folder" in r.output and "fix: choose another -o" in r.output
    assert "solving" not in r.output and f.read_text() == THESIS


def test_a_virtual_file_system(case: Path) -> None:
    r = invoke("solve", case, "-o", "/proc/ruimteverdeling-test")
    assert r.exit_code == 2, r.output
    assert "cannot write in /proc" in r.output and "fix:" in r.output
    assert "solving" not in r.output and "Traceback" not in r.output


@contextlib.contextmanager
def tmpfs(where: Path, *options: str) -> Iterator[Path]:
    """A real tmpfs mounted at ``where`` (skips the test where mounting is not allowed)."""
    where.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(where)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_an_unwritable_parent(case: Path, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "ro", "size=1m") as ro:
        r = invoke("solve", case, "-o", ro / "run")
        assert r.exit_code == 2, r.output
        assert f"cannot write in {ro}" in r.output and "a folder you can write to" in r.output
        assert "solving" not in r.output


def test_a_name_too_long_for_the_file_system(case: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A 300-character id (the id pattern allows it) as the default folder name."""
    doc = yaml.safe_load(case.read_text())
    doc["id"] = "a" * 300
    long = case.with_name("long.yaml")
    long.write_text(yaml.safe_dump(doc))
    monkeypatch.chdir(tmp_path)
    r = invoke("solve", long)
    assert r.exit_code == 2, r.output
    assert "is 300 bytes long; this file system allows 255" in r.output
    assert "fix: choose a shorter -o (by default the folder is named after the scenario id, " \
           "300 characters here)" in r.output
    assert "solving" not in r.output and not (tmp_path / "outputs").exists()
    # the longest name that leaves room for the engine's working names works
    r = invoke("solve", long, "-o", "b" * (255 - wr.NAME_RESERVE), "-q")
    assert r.exit_code == 0, r.output


# ------------------------------------------------------------------------------------------------
# write errors: a full disk, a file-size limit
# ------------------------------------------------------------------------------------------------
def test_a_full_disk_keeps_the_previous_run(case: Path, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "size=512k") as disk:
        (disk / "thesis.txt").write_text(THESIS)
        out = disk / "run"
        assert invoke("solve", case, "-o", out, "-q").exit_code == 0
        run = snapshot(out)
        st = os.statvfs(disk)
        (disk / "filler").write_bytes(b"\0" * (st.f_bavail * st.f_frsize - 40_000))
        r = invoke("solve", case, "-o", out, "-q")
        assert r.exit_code == 2, r.output
        assert "the output could not be written: No space left on device" in r.output
        assert "the previous folder there is intact" in r.output
        assert "fix: free space on that disk" in r.output
        assert snapshot(out) == run
        assert (disk / "thesis.txt").read_text() == THESIS
        assert sorted(os.listdir(disk)) == ["filler", "run", "thesis.txt"]  # no partial


def test_a_file_size_limit_keeps_the_previous_run(case: Path, tmp_path: Path) -> None:
    """RLIMIT_FSIZE: the write fails with EFBIG (Python ignores SIGXFSZ)."""
    out = tmp_path / "out"
    api.solve(case, out)
    run = snapshot(out)
    limit = 20_000  # below report.html and summary.json of the hand case

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    p = cli("solve", case, "-o", out, "-q", preexec=small_files)
    if p.returncode == -signal.SIGXFSZ:  # a process that does not ignore SIGXFSZ dies ...
        assert invoke("clean", tmp_path).exit_code == 0  # ... and its leftovers go
    else:
        assert p.returncode == 2, p.stderr
        assert "the output could not be written: File too large" in p.stderr
        assert "ulimit -f" in p.stderr and "Traceback" not in p.stderr
    assert snapshot(out) == run and not leftovers(tmp_path)


# ------------------------------------------------------------------------------------------------
# killed writers: the next writer, validate and clean repair the swap and say so
# ------------------------------------------------------------------------------------------------
def killed_at(case: Path, out: Path, point: str) -> int:
    """Run ``solve`` in a process that SIGKILLs itself at ``point``; its process id."""
    p = subprocess.Popen([EXE, "solve", str(case), "-o", str(out), "-q"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONWARNINGS": "ignore",
                              wr.FAULT_ENV: f"kill:{point}"})
    _, err = p.communicate(timeout=120)
    assert p.returncode == -signal.SIGKILL, (p.returncode, err)
    return p.pid


@pytest.mark.parametrize("repair", ["solve", "validate", "clean"])
def test_killed_between_the_two_renames(case: Path, tmp_path: Path, repair: str) -> None:
    out = tmp_path / "out"
    (tmp_path / "thesis.txt").write_text(THESIS)
    api.solve(case, out)
    run = snapshot(out)
    pid = killed_at(case, out, "between-renames")
    assert not out.exists()  # the moment that matters: no run at the target
    assert leftovers(tmp_path) == sorted([".out.lock", f".out.old-{pid}",
                                          f".out.partial-{pid}", ".out.swap.json"])
    r = {"solve": lambda: invoke("solve", case, "-o", out, "-q"),
         "validate": lambda: invoke("validate", case, "-o", out),
         "clean": lambda: invoke("clean", tmp_path)}[repair]()
    assert r.exit_code == 0, r.output
    assert f"recovered {out}: process {pid} was killed while replacing it; the previous " \
           "complete folder is restored" in r.output
    assert f"removed .out.partial-{pid}" in r.output
    if repair != "solve":
        assert snapshot(out) == run  # the previous run, byte for byte
    assert json.loads((out / "manifest.json").read_text())["complete"] is True
    assert not leftovers(tmp_path)
    assert (tmp_path / "thesis.txt").read_text() == THESIS


def test_killed_before_and_after_the_swap(case: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    api.solve(case, out)
    run = snapshot(out)
    pid = killed_at(case, out, "writing")  # the partial folder of a dead process
    assert f".out.partial-{pid}" in leftovers(tmp_path) and snapshot(out) == run
    r = invoke("validate", case, "-o", out)
    assert r.exit_code == 0
    assert f"removed .out.partial-{pid}: the unfinished folder of process {pid}" in r.output
    assert snapshot(out) == run and not leftovers(tmp_path)

    pid = killed_at(case, out, "after-swap")  # the new run in place, the old one aside
    new = snapshot(out)
    assert f".out.old-{pid}" in leftovers(tmp_path)
    r = invoke("clean", tmp_path)
    assert r.exit_code == 0
    assert f"removed .out.old-{pid}: the previous folder that process {pid} had already " \
           "replaced" in r.output
    assert snapshot(out) == new and not leftovers(tmp_path)
    assert "nothing to clean" in invoke("clean", tmp_path).output


def test_unmarked_leftovers_are_left_alone(case: Path, tmp_path: Path) -> None:
    """A folder named like a partial folder of a dead process but without the engine's
    marker is not removed (it might be anything)."""
    dead = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
    odd = user_folder(tmp_path / f".out.partial-{dead}")
    r = invoke("solve", case, "-o", tmp_path / "out", "-q")
    assert r.exit_code == 0
    assert f"left .out.partial-{dead} alone" in r.output
    assert (odd / "thesis.txt").read_text() == THESIS


def test_ctrl_c_as_the_working_folder_is_made_leaves_nothing(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """A Ctrl-C that lands between the working folder's mkdir and the ``with`` body (the
    signal is sent as the "writing outputs" line appears) removes that folder and the lock."""
    def interrupt(point: str) -> None:
        if point == "writing":
            raise KeyboardInterrupt

    monkeypatch.setattr(wr, "_fault", interrupt)
    with pytest.raises(KeyboardInterrupt), wr.AtomicOutputDir(tmp_path / "out", "run"):
        pytest.fail("the block must not run")
    assert sorted(os.listdir(tmp_path)) == []


# ------------------------------------------------------------------------------------------------
# two writers of one folder
# ------------------------------------------------------------------------------------------------
def test_a_second_writer_fails_fast_naming_the_first(case: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = subprocess.Popen([EXE, "solve", str(case), "-o", str(out), "-q"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             env={**os.environ, wr.FAULT_ENV: "wait:locked"})
    try:
        assert first.stderr is not None and first.stdin is not None
        line = first.stderr.readline()  # blocks until the first holds the lock
        assert f"process {first.pid} waits at locked" in line, line
        before = sorted(os.listdir(tmp_path))
        r = invoke("solve", case, "-o", out, "-q")
        assert r.exit_code == 2, r.output
        assert f"output folder {out} is being written by process {first.pid} (started " \
               in r.output
        assert "fix: wait for it or choose another -o" in r.output
        assert sorted(os.listdir(tmp_path)) == before  # the second left nothing behind
        with pytest.raises(InputError, match=f"process {first.pid}"):
            api.compare(case, [case], out)  # any command, the same lock
        first.stdin.write("\n")
        first.stdin.close()
        assert first.wait(timeout=120) == 0, first.stderr.read()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert json.loads((out / "manifest.json").read_text())["complete"] is True
    assert not leftovers(tmp_path)


# ------------------------------------------------------------------------------------------------
# folders of earlier versions, kinds, batch folders
# ------------------------------------------------------------------------------------------------
def test_runs_of_earlier_versions_count_by_their_manifest(case: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    api.solve(case, out)
    (out / wr.MARKER).unlink()  # as written before the marker existed
    owner = wr.owner_of(out)
    assert owner is not None and owner.legacy and owner.kind == "run"
    api.solve(case, out)  # replaced: its manifest proves it is a complete run
    assert wr.read_marker(out) is not None
    (out / wr.MARKER).unlink()
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["complete"] = False  # not a complete run: no proof
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="not written by ruimteverdeling"):
        api.solve(case, out)


def test_batch_folder_and_its_run_folders(case: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    api.solve(case, run)
    r = invoke("batch", case, "-o", run)
    assert r.exit_code == 2 and "is the folder of a single run, not of a batch" in r.output
    # a run whose folder in the batch is a user's folder fails alone, with the message
    folder = user_folder(tmp_path / "b" / "hand")
    row = batch.run_task("hand", str(case), str(folder))
    assert row["status"] == "error" and "not written by ruimteverdeling" in row["message"]
    assert (folder / "thesis.txt").read_text() == THESIS


def test_make_area_replaces_only_its_own_area(tmp_path: Path) -> None:
    area = api.make_area(tmp_path / "a", 30, 1000.0, 1)
    assert wr.owner_of(area.parent).kind == "area"  # type: ignore[union-attr]
    first = snapshot(area.parent)
    (area.parent / wr.MARKER).unlink()  # an area of an earlier version: area.yaml's generator
    api.make_area(tmp_path / "a", 30, 1000.0, 1)
    again = snapshot(area.parent)
    assert {k: v for k, v in again.items() if k != wr.MARKER} == \
        {k: v for k, v in first.items() if k != wr.MARKER}
    (area.parent / "notes.txt").write_text(THESIS)
    with pytest.raises(InputError, match=r"did not write \(notes.txt\)"):
        api.make_area(tmp_path / "a", 30, 1000.0, 2)
    assert (area.parent / "notes.txt").read_text() == THESIS


def test_validate_checks_the_output_folder(case: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    precious = user_folder(tmp_path / "precious")
    r = invoke("validate", case, "-o", precious)
    assert r.exit_code == 2 and "thesis.txt" in r.output, r.output
    monkeypatch.chdir(tmp_path)
    user_folder(tmp_path / "outputs" / "hand")  # the default folder is a user's: a warning
    r = invoke("validate", case)
    assert r.exit_code == 0, r.output
    assert "warning: the default output folder cannot be used" in r.output
    r = invoke("validate", case, "-o", tmp_path / "new")
    assert r.exit_code == 0 and "output_folder" in r.output and "(new folder)" in r.output
    assert not (tmp_path / "new").exists() and not leftovers(tmp_path)
    assert (precious / "thesis.txt").read_text() == THESIS


def test_an_unwritable_model_export_is_an_input_error(case: Path, tmp_path: Path) -> None:
    r = invoke("solve", case, "-o", tmp_path / "out", "-q", "--export-model",
               "/proc/ruimteverdeling-test.lp")
    assert r.exit_code == 2, r.output
    assert "cannot write the model file" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "out").exists() and not leftovers(tmp_path)
