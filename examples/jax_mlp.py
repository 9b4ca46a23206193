"""JAX -> edgewasm in one call: fit a small MLP with plain JAX (a sine, by gradient descent),
compile the prediction function, run it on wasmtime and in the browser host.

    pip install 'edgewasm[jax,browser]'
    python examples/jax_mlp.py [BUNDLE_DIR]
"""

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import edgewasm
from edgewasm.engines import run_engine

key1, key2 = jax.random.split(jax.random.PRNGKey(0))
params = {"w1": jax.random.normal(key1, (1, 32)) * 0.5, "b1": jnp.zeros(32),
          "w2": jax.random.normal(key2, (32, 1)) * 0.5, "b2": jnp.zeros(1)}


def predict(params, x):
    return jnp.tanh(x @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"]


xs = jnp.linspace(-3, 3, 128)[:, None]
ys = jnp.sin(xs)
loss_grad = jax.jit(jax.value_and_grad(lambda p: jnp.mean((predict(p, xs) - ys) ** 2)))
for step in range(500):
    loss, grads = loss_grad(params)
    params = jax.tree.map(lambda p, g: p - 0.05 * g, params, grads)
print(f"trained: mse {float(loss):.4f}")


def sine(x):  # what ships: the trained parameters are constants of the exported graph
    return predict(params, x)


x = np.linspace(-2.5, 2.5, 16, dtype=np.float32)[:, None]
out = sys.argv[1] if len(sys.argv) > 1 else "build/jax_mlp"
edgewasm.compile(sine, out, example_inputs=(x,), variants="fp32,fp16", log=print)

compiled = edgewasm.load(out)
(on_server,) = compiled.run({"x": x}).values()
(in_browser,) = run_engine("browser", Path(out), {"x": x}).values()
diff = float(np.abs(on_server - np.asarray(sine(x))).max())
assert diff < 1e-5, diff
assert on_server.tobytes() == in_browser.tobytes(), "browser and wasmtime differ"
print(f"wasmtime matches jax (max |diff| {diff:.1e}); the browser host gives the same bits")
