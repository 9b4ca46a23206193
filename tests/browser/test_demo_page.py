"""The demo page end to end: `build.py` output served by `edgewasm.serve`, driven in Chromium."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgewasm.serve import ServerThread, create_app

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """dist/ built once by `python build.py --dist ...`, served on a free local port."""
    dist = tmp_path_factory.mktemp("site") / "dist"
    paths = [str(ROOT / "toolkit"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))}
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "--dist", str(dist)], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    with ServerThread(create_app(dist)) as server:
        yield dist, server.origin


@pytest.fixture
def page(browser, site):
    dist, origin = site
    page = browser.new_page(origin)
    problems = []
    page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: message.type == "error" and problems.append(f"console: {message.text}"))
    opened = time.monotonic()
    page.goto(origin + "/")
    page.get_by_test_id("status").filter(has_text=re.compile(r"^(ready|error.*)$")).wait_for(timeout=120_000)
    assert page.get_by_test_id("status").text_content() == "ready"
    page.opened = opened
    yield page
    page.close()
    assert problems == []


def probabilities(page) -> list[float]:
    return [float(page.get_by_test_id(f"probability-{digit}").get_attribute("data-value")) for digit in range(10)]


def test_sample_digits_are_classified_as_scikit_learn_does(page, site):
    dist, _ = site
    samples = json.loads((dist / "models/digits/samples.json").read_text())["samples"]
    manifest = json.loads((dist / "models/digits/manifest.json").read_text())
    page.get_by_test_id("sample").click()
    first_prediction = time.monotonic() - page.opened
    print(f"\npage open to first prediction: {first_prediction:.2f} s")
    for _ in range(6):
        label = page.get_by_test_id("sample-label")
        sample = samples[int(label.get_attribute("data-index"))]
        assert label.get_attribute("data-label") == str(sample["label"])
        assert page.get_by_test_id("prediction").text_content() == str(sample["predicted"])
        assert math.isclose(sum(probabilities(page)), 1.0, abs_tol=1e-5)
        page.get_by_test_id("sample").click()
    assert page.get_by_test_id("variant").text_content() == manifest["default_variant"]
    assert page.evaluate("crossOriginIsolated"), "the server's COOP/COEP headers should isolate the page"
    assert re.fullmatch(r"\d+\.\d\d ms", page.get_by_test_id("latency").text_content())


def test_a_drawn_digit_is_classified(page):
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
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "demo-page.png")

    page.get_by_test_id("clear").click()
    assert page.get_by_test_id("prediction").text_content() == "\u2013"
    assert probabilities(page) == [0.0] * 10
