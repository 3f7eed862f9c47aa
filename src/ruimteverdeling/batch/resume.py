"""Resume: a run whose folder already holds a complete run of the same inputs is skipped.

Before solving, a task computes the run's fingerprint (:func:`ruimteverdeling.api.fingerprint`:
the resolved scenario, the sha256 of every input file and the engine version, without
compiling the model) and compares it with the manifest of ``DIR/<id>``
(:func:`ruimteverdeling.api.is_up_to_date`: complete, every listed output present, the same
record). A run that is up to date is reported from its own files, read back with
:mod:`ruimteverdeling.results.runfolder`; ``force`` re-runs everything.
"""

from __future__ import annotations

from typing import Any

from ruimteverdeling import api
from ruimteverdeling.batch.report import key_numbers
from ruimteverdeling.results.runfolder import read_manifest, read_summary


def skipped_row(scenario: str, out_dir: str, area: str | None, threads: int | None
                ) -> dict[str, Any] | None:
    """The row of a run whose folder is up to date, or None when it must be solved (also
    when anything is unreadable: the solve then reports the real problem)."""
    try:
        if not api.is_up_to_date(out_dir, api.fingerprint(scenario, area=area,
                                                          threads=threads)):
            return None
        summary, manifest = read_summary(out_dir), read_manifest(out_dir)
    except Exception:  # anything unreadable: solve, which reports the real problem
        return None
    return {**key_numbers(summary), "status": "skipped",
            "message": f"skipped (up to date): {manifest.get('status')}, "
                       f"finished {manifest.get('finished')}"}
