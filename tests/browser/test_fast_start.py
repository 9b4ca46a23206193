"""Page open to first result, measured: a cold first visit, a warm visit that starts Python normally,
a warm visit restored from the memory snapshot, and that visit with the network off.

"Page open to first result" is `performance.now()` when the first prediction is on screen, i.e.
milliseconds since navigation started. Timings go to test-artifacts/page-open.json; the README's
numbers come from `EDGEWASM_PAGE_ROUNDS=5` (medians). One round by default keeps the suite short.
"""

from __future__ import annotations

import json
import os
import statistics

import pytest

from test_demo_page import ARTIFACTS, Visit

pytestmark = pytest.mark.browser

ROUNDS = int(os.environ.get("EDGEWASM_PAGE_ROUNDS", "1"))


def first_result_ms(visit: Visit, reload: bool, path: str) -> float:
    visit.open(reload=reload)
    boot = visit.boot()
    assert boot["path"] == path
    return boot["marks"]["firstResult"]


def test_snapshot_makes_the_second_visit_faster(browser, site):
    timings: dict[str, list[float]] = {"cold": [], "warm_standard": [], "warm_snapshot": [], "offline_snapshot": [],
                                       "cold_model_files": []}
    for _ in range(ROUNDS):
        visit = Visit(browser, site[1])
        timings["cold"].append(first_result_ms(visit, reload=False, path="standard"))
        timings["cold_model_files"].append(float(visit.page.get_by_test_id("load-bytes").get_attribute("data-ms")))
        visit.settle()
        timings["warm_snapshot"].append(first_result_ms(visit, reload=True, path="snapshot"))
        visit.page.evaluate("caches.delete('edgewasm-snapshots-v1')")  # same caches, no snapshot
        timings["warm_standard"].append(first_result_ms(visit, reload=True, path="standard"))
        visit.settle()  # a new snapshot is saved
        visit.go_offline()
        timings["offline_snapshot"].append(first_result_ms(visit, reload=True, path="snapshot"))
        visit.close()
    medians = {name: statistics.median(values) for name, values in timings.items()}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "page-open.json").write_text(json.dumps({"rounds": ROUNDS, "median_ms": medians,
                                                          "ms": timings}, indent=2) + "\n")
    print("\npage open to first result (median ms): " + ", ".join(f"{k} {v:.0f}" for k, v in medians.items()))
    assert medians["warm_snapshot"] < medians["warm_standard"] < medians["cold"]
    assert medians["cold_model_files"] < medians["cold"] / 10, "the model's files are not what the page waits for"
    assert medians["offline_snapshot"] < medians["warm_standard"]
