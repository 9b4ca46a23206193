"""Real exported models of the zoo (tests/zoo) in headless Chromium through Pyodide: the same bits
as wasmtime for every output, in its own dtype (float NaNs equal). A mix of exporters and kinds:
a CNN, text encoders and causal LMs with int64 token ids and masks (run-time GatherND, Where,
CumSum), rotary embeddings, recurrent OCR and voice activity (LSTM, run-time If), speech, a
Keras Loop, and a JAX attention block."""

from __future__ import annotations

import pytest

import edgewasm
from edgewasm.engines import bit_identical

from zoo import zoo

pytestmark = [pytest.mark.browser, pytest.mark.zoo]

MODELS = ["tv_mobilenet_v3_small", "hf_bert_dynamo", "hf_roberta", "hf_gpt2", "hf_llama", "silero_vad",
          "torch_crnn_ocr_ts", "hf_whisper_encoder", "keras_lstm_gru", "jax_attention", "ppocr_v4_det"]


@pytest.mark.parametrize("name", MODELS)
def test_zoo_model_in_chromium_is_bit_identical_to_wasmtime(browser, tmp_path, name):
    (tmp_path / "m.onnx").write_bytes(zoo.load(name).SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b", shapes=zoo.meta(name)["shapes"])
    feeds = zoo.inputs(name)
    expected = edgewasm.load(tmp_path / "b").run(feeds)
    actual = browser.run(tmp_path / "b", feeds)
    assert sorted(actual) == sorted(expected)
    for output, value in expected.items():
        assert actual[output].dtype == value.dtype, (output, actual[output].dtype, value.dtype)
        assert bit_identical(actual[output], value), f"{name}: output {output} differs from wasmtime's bits"
