"""The browser host of a `--threads N` build: k-1 module workers over one shared WebAssembly.Memory.

Stdlib plus `js`/`pyodide.ffi` only. The page's thread is thread 0: it calls the module's `run()`,
which spins at the module's barriers (a page's main thread may not block). Each worker instantiates
the same compiled module over the same memory once, then loops: spin a little on the GO word, then
`Atomics.wait` on it, call `run_thread(t)`, wait again. `run()` bumps GO and notifies (inside the
module), so starting the workers costs no message.
A worker whose `run_thread` throws writes the abort word, so thread 0 traps at its next barrier
instead of spinning forever. Shared memory needs a cross-origin isolated page (COOP/COEP); without
one the model runs on one thread and `model.choice` says why.
"""

from __future__ import annotations

from ..errors import BundleError, ExecutionError, ThreadsError, UnsupportedBrowserError
from .threads import ABORT_OFFSET, DONE_OFFSET, GO_OFFSET, WORKER_EXPORT, thread_words

SPIN_ROUNDS = 200_000  # loads of GO a worker spins between runs before it sleeps (~0.5 ms)
SETTLE_MS = 2000  # how long a run waits for the workers of the previous one (they leave within ~1 ms)

WORKER_SOURCE = """
onmessage = async (event) => {
  const {module, memory, t, go, abort, done} = event.data;
  let exports;
  try {
    exports = (await WebAssembly.instantiate(module, {env: {memory}})).exports;
  } catch (error) {
    postMessage({t, error: String(error)});
    return;
  }
  postMessage({t, ready: true});
  const words = new Int32Array(memory.buffer);
  let seen = Atomics.load(words, go);
  for (;;) {
    // spin a little first: back-to-back runs then start at once (waking a sleeping worker costs
    // tens of microseconds on an idle core), then sleep until run() bumps GO and notifies
    let now = Atomics.load(words, go);
    for (let spin = 0; now === seen && spin < %d; spin++) now = Atomics.load(words, go);
    if (now === seen) { Atomics.wait(words, go, seen); continue; }
    seen = now;
    if (now < 0) { close(); return; }
    try { exports.%s(t); } catch (error) { Atomics.store(words, abort, 1); }
    Atomics.add(words, done, 1);
  }
};
""" % (SPIN_ROUNDS, WORKER_EXPORT)

# (source, module, memory, count, go, abort, done) -> Promise of the started workers (rejected with the first error)
START_WORKERS = """
return (async (source, module, memory, count, go, abort, done) => {
  const url = URL.createObjectURL(new Blob([source], {type: 'text/javascript'}));
  const workers = [];
  const ready = [];
  for (let t = 1; t < count; t++) {
    const worker = new Worker(url, {type: 'module', name: 'edgewasm-thread-' + t});
    workers.push(worker);
    ready.push(new Promise((resolve, reject) => {
      worker.onmessage = (event) => event.data.ready ? resolve() : reject(new Error(event.data.error));
      worker.onerror = (event) => reject(new Error(event.message || 'worker failed to start'));
    }));
    worker.postMessage({module, memory, t, go, abort, done});
  }
  try { await Promise.all(ready); } finally { URL.revokeObjectURL(url); }
  return workers;
})(...arguments);
"""


def hardware_threads() -> int:
    import js

    return max(1, int(getattr(js.navigator, "hardwareConcurrency", 1) or 1))


def plan_threads(built: int, requested: int | None, splits_nothing: bool = False) -> tuple[int, str]:
    """(k, why) for a build of `built` threads in this page."""
    import js

    if requested is not None and (isinstance(requested, bool) or not isinstance(requested, int) or requested < 1):
        raise ThreadsError(f"threads must be a positive integer, got {requested!r}")
    if requested is not None and requested > built:
        raise ThreadsError(f"this variant was built for at most {built} thread(s) (compile with --threads "
                           f"{requested} for more), not {requested}")
    if splits_nothing:
        return 1, f"1 thread(s) of {built} built: the model is too small to split over threads"
    wanted = requested if requested is not None else min(built, hardware_threads())
    if wanted > 1 and not bool(getattr(js, "crossOriginIsolated", False)):
        return 1, (f"1 thread instead of {wanted}: the page is not cross-origin isolated (serve it with "
                   "COOP: same-origin and COEP: require-corp), so it cannot share memory with workers")
    return wanted, f"{wanted} thread(s) of {built} built" + ("" if requested else
                                                              f" ({hardware_threads()} hardware threads)")


class BrowserThreadedInstance:
    """A threaded module in the page: same interface as BrowserInstance (write, read, call)."""

    def __init__(self, memory, exports, module, pages: int, threads: int):
        import js

        self.memory, self.exports, self.module, self.pages, self.threads = memory, exports, module, pages, threads
        self.fixed_memory = True
        names = [str(name) for name in js.Object.keys(exports)]
        self.functions = {name: getattr(exports, name) for name in names if name in ("run", "init")}
        self.workers = []
        self._bytes = js.Uint8Array.new(memory.buffer)
        self._words = js.Int32Array.new(memory.buffer)
        self._size = int(self._bytes.length)
        self._views: dict = {}
        self.runs = 0  # runs started on the workers (each worker bumps DONE once per run)
        self._clean = False  # the shared words are as a finished run leaves them (written once, then after a trap)

    @classmethod
    async def create(cls, wasm: bytes, pages: int, threads: int) -> "BrowserThreadedInstance":
        import js
        from pyodide.ffi import JsException, to_js

        from .browser_host import _uint8array

        try:
            descriptor = to_js({"initial": pages, "maximum": pages, "shared": True}, dict_converter=js.Object.fromEntries)
            memory = js.WebAssembly.Memory.new(descriptor)
        except JsException as exc:
            raise UnsupportedBrowserError(f"this page cannot make a shared WebAssembly.Memory for a --threads build "
                                          f"({exc}); serve it cross-origin isolated (COOP/COEP), or use a build "
                                          "without --threads") from None
        try:
            module = await js.WebAssembly.compile(_uint8array(wasm))
            imports = to_js({"env": {"memory": memory}}, dict_converter=js.Object.fromEntries)
            instance = await js.WebAssembly.instantiate(module, imports)
        except JsException as exc:
            raise BundleError(f"the module does not compile or instantiate in this browser: {exc}") from None
        self = cls(memory, instance.exports, module, pages, threads)
        if threads > 1:
            start = js.Function.new(START_WORKERS)
            try:
                self.workers = list(await start(WORKER_SOURCE, module, memory, threads, GO_OFFSET // 4,
                                                ABORT_OFFSET // 4, DONE_OFFSET // 4))
            except JsException as exc:
                raise BundleError(f"the model's {threads - 1} worker(s) did not start: {exc}") from None
        return self

    @property
    def memory_bytes(self) -> int:
        return self._size

    def _view(self, offset: int, nbytes: int):
        view = self._views.get((offset, nbytes))
        if view is None:
            if offset < 0 or nbytes < 0 or offset + nbytes > self._size:
                raise BundleError(f"[{offset}, {offset + nbytes}) lies outside the module's memory")
            view = self._bytes.subarray(offset, offset + nbytes)
            if len(self._views) >= 16:
                self._views.clear()
            self._views[(offset, nbytes)] = view
        return view

    def write(self, offset: int, data) -> None:
        self._view(offset, len(data)).assign(data)

    def read(self, offset: int, nbytes: int) -> bytes:
        return self._view(offset, nbytes).to_bytes()

    def call(self, export: str) -> int:
        import js
        from pyodide.ffi import JsException

        if export == "run":
            if self.workers:
                self._settle()
            if not self._clean:  # a finished run leaves them clean: counter 0, no abort
                for offset, value in thread_words(self.threads, main_may_block=False):
                    js.Atomics.store(self._words, offset // 4, value)
                self._clean = True
            if self.threads > 1:
                self.runs += 1  # run() bumps GO and notifies the workers
        try:
            return int(self.functions[export]())
        except JsException as exc:
            js.Atomics.store(self._words, ABORT_OFFSET // 4, 1)  # the workers leave their barriers
            self._clean = False
            raise ExecutionError(f"the module trapped in {export}() on {self.threads} thread(s): {exc}") from None

    def _settle(self) -> None:
        """Wait (spinning: the page may not block) until every worker left the previous run, so a
        worker still leaving a trapped run never meets the next run's barriers."""
        import js

        expected = self.runs * (len(self.workers))
        started = js.performance.now()
        while int(js.Atomics.load(self._words, DONE_OFFSET // 4)) < expected:
            if js.performance.now() - started > SETTLE_MS:
                raise ExecutionError(f"the model's workers did not finish the previous run within {SETTLE_MS} ms")

    def close(self) -> None:
        """Stop the workers (they exit at their next wake-up; terminate makes sure)."""
        for worker in self.workers:
            worker.terminate()
        self.workers = []
