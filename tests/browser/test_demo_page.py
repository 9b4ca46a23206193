"""The demo page end to end: `build.py` output served by `edgewasm.serve`, driven in Chromium.

Every test opens the page in a fresh browser context (its own caches and service worker), so a
first visit is really a first visit. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
READY = re.compile(r"^(ready|error.*)$")
OFFLINE_NOISE = ("ERR_INTERNET_DISCONNECTED", "Failed to fetch")  # the manifest's network try, offline


@pytest.fixture
def manifest(site):
    return json.loads((site[0] / "models/digits/manifest.json").read_text())


@pytest.fixture
def samples(site):
    return json.loads((site[0] / "models/digits/samples.json").read_text())["samples"]


class Visit:
    """One browser context on the site: open, reload (optionally offline), and what went wrong."""

    def __init__(self, browser, origin):
        self.origin = origin
        self.page = browser.new_page(origin)
        self.problems: list[str] = []
        self.offline = False
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("console", self._console)
        self.page.on("requestfailed", lambda r: self.offline or self.problems.append(f"request failed: {r.url}"))

    def _console(self, message) -> None:
        if message.type == "error" and not (self.offline and any(n in message.text for n in OFFLINE_NOISE)):
            self.problems.append(f"console: {message.text}")

    def open(self, reload: bool = False) -> None:
        if reload:
            self.page.reload()
        else:
            self.page.goto(self.origin + "/")
        status = self.page.get_by_test_id("status")
        status.filter(has_text=READY).wait_for(timeout=120_000)
        assert status.text_content() == "ready"

    def settle(self) -> None:
        """Wait for what a first visit leaves for the next: the snapshot, the shell, the other variants."""
        self.page.wait_for_function("['saved', 'snapshot'].includes(window.edgewasmBoot.snapshot)"
                                    " || window.edgewasmBoot.snapshot.startsWith('failed')", timeout=120_000)
        assert self.page.evaluate("window.edgewasmBoot.snapshot") in ("saved", "snapshot")
        self.page.wait_for_function("navigator.serviceWorker.ready.then(() => true)", timeout=60_000)
        self.page.wait_for_function("document.querySelector('[data-testid=variant]').dataset.prefetched === 'done'",
                                    timeout=60_000)

    def go_offline(self) -> None:
        self.offline = True
        self.page.context.set_offline(True)

    def boot(self) -> dict:
        return self.page.evaluate("window.edgewasmBoot")

    def close(self) -> None:
        self.page.context.close()
        assert self.problems == []


@pytest.fixture
def visit(browser, site):
    opened = Visit(browser, site[1])
    yield opened
    opened.close()


def probabilities(page) -> list[float]:
    return [float(page.get_by_test_id(f"probability-{digit}").get_attribute("data-value")) for digit in range(10)]


def choose(page, testid: str, value: str) -> None:
    """Pick an option and wait until the page has loaded what it asked for."""
    loads = int(page.evaluate("document.body.dataset.loads || '0'"))
    page.get_by_test_id(testid).select_option(value)
    page.wait_for_function(f"Number(document.body.dataset.loads || 0) > {loads}", timeout=60_000)
    assert page.get_by_test_id("status").text_content() == "ready"


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / name, full_page=True)


def test_first_visit_predicts_samples_as_the_compiled_model_does(visit, manifest, samples):
    visit.open()
    page = visit.page
    boot = visit.boot()
    assert (boot["path"], boot["restored"], boot["fallback"]) == ("snapshot", "baked", None)  # build.py baked it
    assert boot["pageCompiled"] is True  # app.py as compiled into the snapshot, not compiled here
    # the model's files were fetched, and its module compiled, while Python started: the loader took them all
    assert page.evaluate("[window.edgewasmEarly.size, pyodide.runPython('app.model.instance.compiled_early')]") == [0, True]
    assert 0 < boot["marks"]["pyodide"] <= boot["marks"]["wheel"] < boot["marks"]["model"] < boot["marks"]["firstResult"]
    print(f"\nfirst visit: page open to first result {boot['marks']['firstResult'] / 1000:.2f} s")
    assert page.get_by_test_id("first-result").get_attribute("data-ms") == str(boot["marks"]["firstResult"])
    assert page.get_by_test_id("variant").input_value() == manifest["default_variant"] == "fp32"
    assert "priority 'balanced'" in page.get_by_test_id("variant-reason").text_content()
    for _ in range(6):
        label = page.get_by_test_id("sample-label")
        sample = samples[int(label.get_attribute("data-index"))]
        assert label.get_attribute("data-label") == str(sample["label"])
        assert page.get_by_test_id("prediction").text_content() == str(sample["predicted"])
        assert math.isclose(sum(probabilities(page)), 1.0, abs_tol=1e-5)
        page.get_by_test_id("sample").click()
    assert page.evaluate("crossOriginIsolated"), "the server's COOP/COEP headers should isolate the page"
    assert re.fullmatch(r"\d+\.\d{3} ms \(fp32\)", page.get_by_test_id("latency").text_content())
    assert page.get_by_test_id("monitor-runs").text_content() == "7"
    assert re.fullmatch(r"\d+\.\d{3} ms", page.get_by_test_id("monitor-p95").text_content())
    chunks = len(manifest["variants"]["fp32"]["weights"])
    assert chunks >= 2, "the demo is built with small chunks so the loader's rows show"
    for row in ["pyodide", "wheel", "module", *(f"chunk-{i}" for i in range(chunks))]:
        assert page.get_by_test_id(f"progress-{row}").get_attribute("data-state") == "done"
    assert "from the network" in page.get_by_test_id("progress-chunk-0").text_content()


def test_a_drawn_digit_is_classified(visit):
    visit.open()
    page = visit.page
    page.get_by_test_id("clear").click()
    canvas = page.get_by_test_id("canvas")
    box = canvas.bounding_box()
    centre_x, centre_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(centre_x + 45, centre_y)
    page.mouse.down()
    for step in range(41):  # an ellipse: a zero
        angle = step * math.pi / 20
        page.mouse.move(centre_x + 45 * math.cos(angle), centre_y + 65 * math.sin(angle))
    page.mouse.up()
    assert page.get_by_test_id("prediction").text_content() == "0"
    assert math.isclose(sum(probabilities(page)), 1.0, abs_tol=1e-5)
    screenshot(page, "demo-page.png")

    page.get_by_test_id("clear").click()
    assert page.get_by_test_id("prediction").text_content() == "\u2013"
    assert probabilities(page) == [0.0] * 10


def test_every_variant_answers_bit_identically_in_the_browser_and_on_the_server(visit, manifest):
    visit.open()
    page = visit.page
    page.get_by_test_id("server-toggle").check()
    assert len(manifest["variants"]) >= 2
    for variant in manifest["variants"]:
        choose(page, "variant", variant)
        assert page.get_by_test_id("variant-reason").get_attribute("data-variant") == variant
        for _ in range(3):
            page.get_by_test_id("sample").click()
            parity = page.get_by_test_id("parity")
            page.wait_for_function("!['pending', ''].includes(document.querySelector('[data-testid=parity]').dataset.state)",
                                   timeout=30_000)
            assert parity.get_attribute("data-state") == "identical", parity.text_content()
            assert parity.text_content() == f"bit-identical ({variant})"
            assert page.get_by_test_id("server-prediction").text_content() == \
                page.get_by_test_id("prediction").text_content()
            assert re.fullmatch(r"\(\d+\.\d ms round trip, \d+\.\d{3} ms on the server\)",
                                page.get_by_test_id("server-latency").text_content())
        assert page.get_by_test_id("latency").text_content().endswith(f"({variant})")
        screenshot(page, f"demo-page-server-{variant}.png")


def test_priority_power_picks_the_lightest_variant_and_accuracy_the_most_precise(visit, manifest):
    visit.open()
    page = visit.page
    choose(page, "priority", "power")
    sizes = {name: sum(c["nbytes"] for c in v["weights"]) for name, v in manifest["variants"].items()}
    assert page.get_by_test_id("variant").input_value() == min(sizes, key=sizes.get) == "int8"
    assert "priority 'power'" in page.get_by_test_id("variant-reason").text_content()
    choose(page, "priority", "accuracy")
    assert page.get_by_test_id("variant").input_value() == "fp32"


def test_second_visit_loads_and_predicts_with_the_network_off(visit):
    visit.open()
    visit.settle()
    visit.go_offline()
    visit.open(reload=True)
    page = visit.page
    boot = visit.boot()
    assert (boot["path"], boot["restored"]) == ("snapshot", "saved")  # the baked one, kept inflated
    print(f"\noffline second visit: page open to first result {boot['marks']['firstResult'] / 1000:.2f} s")
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    assert page.evaluate("crossOriginIsolated"), "cached responses must keep COOP/COEP"
    assert page.get_by_test_id("prediction").text_content() != "\u2013"
    assert "all from the cache" in page.get_by_test_id("load-bytes").text_content()
    assert "from the cache" in page.get_by_test_id("progress-chunk-0").text_content()
    screenshot(page, "demo-page-offline.png")

    choose(page, "variant", "int8")  # prefetched on the first visit
    page.get_by_test_id("sample").click()
    assert page.get_by_test_id("latency").text_content().endswith("(int8)")
    page.get_by_test_id("server-toggle").check()
    page.get_by_test_id("sample").click()
    page.wait_for_function("document.querySelector('[data-testid=parity]').dataset.state === 'error'", timeout=30_000)
    assert "server unavailable" in page.get_by_test_id("parity").text_content()


def test_edge_vs_cloud_panel_times_both_under_emulated_networks(visit):
    visit.open()
    page = visit.page
    page.get_by_test_id("edge-cloud-run").click()
    rows = page.locator('[data-testid^="edge-cloud-"][data-cloud-ms]')
    rows.first.wait_for(timeout=60_000)
    measured = {row.get_attribute("data-testid").removeprefix("edge-cloud-"):
                (float(row.get_attribute("data-edge-ms")), float(row.get_attribute("data-cloud-ms")))
                for row in rows.all()}
    assert list(measured) == ["loopback", "fast-4g", "fast-3g", "slow-3g"]
    edge, loopback = measured["loopback"]
    assert 0 < edge and 0 < loopback
    assert measured["fast-4g"][1] > loopback + 165 and measured["slow-3g"][1] > loopback + 2000
    assert measured["slow-3g"][0] < measured["slow-3g"][1]  # a tiny MLP: the edge wins on a slow link
    assert int(page.get_by_test_id("monitor-runs").text_content()) >= 51
