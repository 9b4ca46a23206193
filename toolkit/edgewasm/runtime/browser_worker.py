"""Inference off the page's main thread: `await edgewasm.load(url, worker=True)` and
`await model.run_async(inputs)` (stdlib plus `js`/`pyodide.ffi` only).

The page loads and verifies the bundle as always (chunk loader, sha256, the sandbox audit), but
instead of instantiating the module it stages what a load writes (the weight chunks, the
loop-variant word) and hands module bytes and writes to a dedicated worker, which instantiates
the module, writes them and calls `init()`. A run posts the encoded inputs; the worker writes
them, calls `run()` and posts the output bytes back, so a long model never freezes the page. The
run's deadline (`RuntimeConfig.deadline`) is a timer on the page: past it the worker is
terminated, `DeadlineExceeded` raised, and the next run starts a fresh worker from the staged
bytes. A `--threads` build runs on one thread there (its barriers pass at once).
"""

from __future__ import annotations

from ..errors import BundleError, DeadlineExceeded, ExecutionError
from .core import Model, check_status, encode_inputs

WORKER_SOURCE = """
let exports = null, bytes = null;
onmessage = async (event) => {
  const message = event.data;
  try {
    if (message.kind === 'load') {
      const module = await WebAssembly.compile(message.wasm);
      let memory = null, imports = {};
      if (WebAssembly.Module.imports(module).length > 0) {
        memory = new WebAssembly.Memory({initial: message.pages, maximum: message.pages, shared: true});
        imports = {env: {memory}};
      }
      exports = (await WebAssembly.instantiate(module, imports)).exports;
      bytes = new Uint8Array((memory || exports.memory).buffer);
      for (const [offset, data] of message.writes) bytes.set(data, offset);
      if (message.init && exports.init() !== 0) throw new Error('model init returned a non-zero status');
      postMessage({ok: true});
    } else {
      for (const [offset, data] of message.writes) bytes.set(data, offset);
      const status = exports.run();
      const outputs = message.reads.map(([offset, n]) => bytes.slice(offset, offset + n));
      postMessage({status, outputs}, outputs.map((o) => o.buffer));
    }
  } catch (error) {
    postMessage({error: String(error)});
  }
};
"""

# (worker, message, deadline ms or null) -> Promise of the worker's reply; rejects with 'deadline' past it
REQUEST = """
return ((worker, message, deadline) => new Promise((resolve, reject) => {
  let timer = null;
  worker.onmessage = (event) => { if (timer !== null) clearTimeout(timer); resolve(event.data); };
  worker.onerror = (event) => { if (timer !== null) clearTimeout(timer); reject(new Error(event.message || 'worker error')); };
  if (deadline != null) timer = setTimeout(() => { worker.terminate(); reject(new Error('edgewasm-deadline')); }, deadline);
  worker.postMessage(message);
}))(...arguments);
"""


class StagedInstance:
    """What `load` writes into a module's memory, kept for a worker instead of written."""

    def __init__(self, wasm: bytes, memory_bytes: int):
        self.wasm, self.memory_bytes = wasm, memory_bytes
        self.writes: list[tuple[int, bytes]] = []
        self.init = False

    def write(self, offset: int, data) -> None:
        self.writes.append((offset, bytes(data)))

    def call(self, export: str) -> int:
        if export != "init":
            raise ExecutionError(f"{export}() runs in the model's worker: use `await model.run_async(inputs)`")
        self.init = True
        return 0


def _js_writes(writes):
    import js
    from pyodide.ffi import to_js

    from .browser_host import _uint8array

    return to_js([[offset, _uint8array(data)] for offset, data in writes], dict_converter=js.Object.fromEntries)


class WorkerModel(Model):
    """A model that runs in a dedicated worker: `await run_async(inputs)`; `run` is refused."""

    def __init__(self, variant, staged: StagedInstance, make_output, config, choice=None, load_report=None):
        super().__init__(variant, staged, make_output, host="browser-worker")
        self.staged, self.config, self.choice, self.load_report = staged, config, choice, load_report
        self.worker = None
        self.starts = 0

    def run(self, inputs: dict) -> dict:
        raise ExecutionError("this model runs in a worker (load(..., worker=True)): use `await model.run_async(inputs)`")

    async def _post(self, message, deadline_ms):
        import js
        from pyodide.ffi import JsException, to_js

        request = js.Function.new(REQUEST)
        try:
            reply = await request(self.worker, to_js(message, dict_converter=js.Object.fromEntries), deadline_ms)
        except JsException as exc:
            self.worker = None
            if "edgewasm-deadline" in str(exc):
                raise DeadlineExceeded(f"run() exceeded the {self.config.deadline} s deadline; the worker was "
                                       "terminated and the next run starts a fresh one") from None
            raise ExecutionError(f"the model's worker failed: {exc}") from None
        if getattr(reply, "error", None) is not None:
            raise ExecutionError(f"the module failed in its worker: {reply.error}")
        return reply

    async def start(self) -> None:
        """A fresh worker with the module instantiated, the weights written and init() called."""
        import js

        blob = js.Blob.new(js.Array.of(WORKER_SOURCE), js.Object.fromEntries([["type", "text/javascript"]]))
        url = js.URL.createObjectURL(blob)
        try:
            self.worker = js.Worker.new(url, js.Object.fromEntries([["type", "module"], ["name", "edgewasm-model"]]))
        finally:
            js.URL.revokeObjectURL(url)
        from .browser_host import _uint8array

        message = {"kind": "load", "wasm": _uint8array(self.staged.wasm), "pages": self.variant.pages,
                   "writes": _js_writes(self.staged.writes), "init": self.staged.init}
        self.starts += 1
        try:
            await self._post(message, None)
        except ExecutionError as exc:
            raise BundleError(f"the model's worker could not load it: {exc}") from None

    async def run_async(self, inputs: dict) -> dict:
        if self.worker is None:  # the first run after a deadline (or a failed worker): a fresh one
            await self.start()
        writes = [(spec.offset, data) for spec, data in encode_inputs(self.variant, inputs)]
        reads = [[t.offset, t.nbytes] for t in self.variant.outputs]
        deadline = self.config.deadline
        reply = await self._post({"kind": "run", "writes": _js_writes(writes), "reads": reads},
                                 None if deadline is None else deadline * 1000)
        check_status(self.variant, "run", int(reply.status))
        return {t.name: self.make_output(t, data.to_bytes()) for t, data in zip(self.variant.outputs, reply.outputs)}

    def close(self) -> None:
        if self.worker is not None:
            self.worker.terminate()
            self.worker = None
