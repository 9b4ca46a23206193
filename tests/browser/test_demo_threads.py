"""The demo page's threads choice: a --threads build runs on the threads picked, a single-threaded
build or a page that is not cross-origin isolated falls back to one thread and says why."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import edgewasm

from models import make_mlp
from test_demo_page import Visit, choose

pytestmark = pytest.mark.browser


def test_the_single_threaded_demo_build_says_why_it_runs_on_one_thread(browser, site):
    visit = Visit(browser, site[1])
    try:
        visit.open()
        page = visit.page
        reason = page.get_by_test_id("threads-reason")
        assert reason.text_content().startswith("1 thread: this build is single-threaded")
        choose(page, "threads", "2")
        assert reason.get_attribute("data-threads") == "1"
        assert reason.text_content().startswith("1 thread instead of 2: ") and "at most 1 thread" in reason.text_content()
        page.get_by_test_id("sample").click()
        assert page.get_by_test_id("prediction").text_content().isdigit()
    finally:
        visit.close()


@pytest.fixture(scope="module")
def threaded_site(site, tmp_path_factory):
    """The demo with its digits bundle replaced by a --threads 2 build big enough to split
    (pixels [1, 64] -> 2048 -> 2048 -> 10 probabilities)."""
    root = tmp_path_factory.mktemp("threaded-site")
    dist = root / "dist"
    shutil.copytree(site[0], dist, symlinks=True)
    bundle = dist / "models" / "digits"
    samples = (bundle / "samples.json").read_bytes()
    shutil.rmtree(bundle)
    onnx = make_mlp([64, 2048, 2048, 10], batch=1)
    onnx.graph.input[0].name = onnx.graph.node[0].input[0] = "pixels"
    onnx.graph.output[0].name = "probabilities"
    onnx.graph.node[-1].output[0] = "probabilities"
    (root / "wide.onnx").write_bytes(onnx.SerializeToString())
    edgewasm.compile(root / "wide.onnx", bundle, batch=1, name="digits", threads=2)
    (bundle / "samples.json").write_bytes(samples)
    assert json.loads((bundle / "manifest.json").read_text())["variants"]["fp32"]["report"]["threads"]["split_calls"] > 0
    return dist


def serve(dist, isolated: bool):
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from edgewasm.serve import ServerThread, create_app
    from edgewasm.serve.static import SafeStatic

    return ServerThread(create_app(dist) if isolated else Starlette(routes=[Mount("/", app=SafeStatic(dist))]))


def test_a_threaded_build_runs_on_the_threads_picked_with_the_same_prediction(browser, threaded_site):
    with serve(threaded_site, isolated=True) as server:
        visit = Visit(browser, server.origin)
        try:
            visit.open()
            page = visit.page
            reason = page.get_by_test_id("threads-reason")
            predictions = {}
            for k in ("1", "2"):
                choose(page, "threads", k)
                assert reason.get_attribute("data-threads") == k
                assert reason.text_content().startswith(f"{k} thread(s) of 2 built"), reason.text_content()
                page.get_by_test_id("sample").click()
                index = int(page.get_by_test_id("sample-label").get_attribute("data-index"))
                predictions[k] = (index, page.get_by_test_id("prediction").text_content())
            samples = json.loads((threaded_site / "models/digits/samples.json").read_text())["samples"]
            model = edgewasm.load(threaded_site / "models/digits", threads=2)
            for index, shown in predictions.values():
                x = np.asarray(samples[index]["pixels"], np.float32)[None] / 16
                assert shown == str(int(np.argmax(model.run({"pixels": x})["probabilities"])))
        finally:
            visit.close()


def test_a_page_that_is_not_cross_origin_isolated_falls_back_to_one_thread_and_says_why(browser, threaded_site):
    with serve(threaded_site, isolated=False) as server:
        visit = Visit(browser, server.origin)
        try:
            visit.open()
            page = visit.page
            assert not page.evaluate("crossOriginIsolated")
            choose(page, "threads", "2")
            reason = page.get_by_test_id("threads-reason")
            assert reason.get_attribute("data-threads") == "1"
            assert "1 thread instead of 2: the page is not cross-origin isolated" in reason.text_content()
            page.get_by_test_id("sample").click()
            assert page.get_by_test_id("prediction").text_content().isdigit()
        finally:
            visit.close()
