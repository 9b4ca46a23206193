"""PyTorch -> edgewasm in one call: train a small CNN (BatchNorm + GELU) on synthetic images,
compile it, run it on wasmtime and in the browser host (Pyodide in headless Chromium).

    pip install 'edgewasm[torch,browser]'
    python examples/torch_cnn.py [BUNDLE_DIR]
"""

import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

import edgewasm
from edgewasm.engines import run_engine

torch.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.GELU(),
    nn.Conv2d(8, 16, 3, stride=2), nn.BatchNorm2d(16), nn.GELU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 2),
)
# Task: is the bright blob in the left or the right half of a 12x12 image?
images = torch.randn(256, 1, 12, 12) * 0.3
labels = torch.randint(0, 2, (256,))
for i, label in enumerate(labels):
    images[i, 0, 3:9, 1 + 6 * label:5 + 6 * label] += 2.0
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for step in range(60):
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
model.eval()
print(f"trained: loss {loss.item():.3f}")

x = images[:1].numpy()
out = sys.argv[1] if len(sys.argv) > 1 else "build/torch_cnn"
edgewasm.compile(model, out, example_inputs=(x,), variants="fp32,int8", log=print)

compiled = edgewasm.load(out)  # the server host (wasmtime)
feeds = {"input": x}  # nn.Sequential's forward(input): the input is named after the parameter
(on_server,) = compiled.run(feeds).values()
(in_browser,) = run_engine("browser", Path(out), feeds).values()  # the browser host: Pyodide in Chromium
with torch.no_grad():
    expected = model(images[:1]).numpy()
diff = float(np.abs(on_server - expected).max())
assert diff < 1e-4, diff
assert on_server.tobytes() == in_browser.tobytes(), "browser and wasmtime differ"
print(f"wasmtime matches torch (max |diff| {diff:.1e}); the browser host gives the same bits")
