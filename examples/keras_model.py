"""Keras 3 -> edgewasm in one call: train a small functional classifier, compile it (Keras's own
ONNX export, TensorFlow backend), run it on wasmtime and in the browser host.

    pip install 'edgewasm[keras,browser]'
    python examples/keras_model.py [BUNDLE_DIR]
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import edgewasm  # noqa: E402
from edgewasm.engines import run_engine  # noqa: E402

keras.utils.set_random_seed(0)
features = keras.Input((4,), name="features")
hidden = keras.layers.Dense(16, activation="relu")(features)
hidden = keras.layers.LayerNormalization()(hidden)
classes = keras.layers.Dense(3, activation="softmax")(hidden)
model = keras.Model(features, classes)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

rng = np.random.default_rng(0)  # three Gaussian clusters
centers = rng.standard_normal((3, 4)) * 2
labels = rng.integers(0, 3, 600)
data = (centers[labels] + rng.standard_normal((600, 4))).astype(np.float32)
history = model.fit(data, labels, epochs=10, batch_size=32, verbose=0)
print(f"trained: accuracy {history.history['accuracy'][-1]:.3f}")

x = data[:8]
out = sys.argv[1] if len(sys.argv) > 1 else "build/keras_model"
edgewasm.compile(model, out, example_inputs={"features": x}, variants="fp32,int8", log=print)

compiled = edgewasm.load(out)
(on_server,) = compiled.run({"features": x}).values()
(in_browser,) = run_engine("browser", Path(out), {"features": x}).values()
diff = float(np.abs(on_server - model.predict(x, verbose=0)).max())
assert diff < 1e-5, diff
assert on_server.tobytes() == in_browser.tobytes(), "browser and wasmtime differ"
print(f"wasmtime matches keras (max |diff| {diff:.1e}); the browser host gives the same bits")
