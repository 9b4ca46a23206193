// Boot Python as fast as the browser allows, then hand the page over to app.py (the logic is Python).
//
// A first visit restores the memory snapshot baked at build time (edgewasm/snapshot.py: Python with
// edgewasm imported, keyed by the Pyodide build and the wheel's sha256) instead of booting Python.
// Without one (or when it does not fit this build) it boots Pyodide and loads the edgewasm wheel,
// and once the first result is shown a worker saves a snapshot for the next visit. A service
// worker precaches the shell (the baked snapshot too), so later visits work with the network off.
"use strict";

const SNAPSHOT_CACHE = "edgewasm-snapshots-v1";
const SNAPSHOT_WHEEL_DIR = "/lib/edgewasm-snapshot/";
const statusLine = document.querySelector('[data-testid="status"]');

// What the tests and the page read: how Python started and when each step was done
// (performance.now(), i.e. milliseconds since the page was opened).
// `restored` says which snapshot Python came from ("baked" or "saved"), `fallback` why none was used.
const boot = (window.edgewasmBoot = { path: null, snapshot: "none", restored: null, fallback: null, marks: {} });
window.edgewasmMark = (name) => (boot.marks[name] = performance.now());

function say(text) {
  statusLine.textContent = text;
}

// One row of the loading panel; app.py adds the module's and each weight chunk's rows.
window.edgewasmProgress = (name, label, text, state) => {
  const list = document.querySelector('[data-testid="progress"]');
  let row = list.querySelector(`[data-testid="progress-${name}"]`);
  if (!row) {
    row = document.createElement("li");
    row.dataset.testid = `progress-${name}`;
    row.innerHTML = '<span class="label"></span> <span class="text"></span>';
    list.appendChild(row);
  }
  row.querySelector(".label").textContent = label;
  row.querySelector(".text").textContent = text;
  row.dataset.state = state;
};

const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;

async function runtimeInfo() {
  const response = await fetch("pyodide/pyodide-lock.json");
  if (!response.ok) throw new Error(`pyodide-lock.json: HTTP ${response.status}`);
  const lock = await response.json();
  const wheel = lock.packages.edgewasm;
  if (!wheel) throw new Error("pyodide-lock.json does not register the edgewasm wheel");
  const { platform, python, abi_version: abi } = lock.info;
  return {
    wheelUrl: new URL(`pyodide/${wheel.file_name}`, location.href).href,
    wheelPath: SNAPSHOT_WHEEL_DIR + wheel.file_name,
    // Subresource integrity from the lockfile's hex sha256, as loadPackage checks it.
    integrity: "sha256-" + btoa(String.fromCharCode(...wheel.sha256.match(/../g).map((h) => parseInt(h, 16)))),
    // A snapshot is only valid for this Pyodide build and this exact wheel.
    snapshotKey: new URL(`pyodide/snapshot/${platform}-${python}-${abi}-${wheel.sha256}.bin`, location.href).href,
    bakedSnapshot: new URL(`pyodide/snapshot/${platform}-${python}-${abi}-${wheel.sha256}.bin.gz`, location.href).href,
  };
}

// The build's snapshot: { bytes: a promise } (so Pyodide fetches its own files meanwhile), or null.
async function bakedSnapshot(info) {
  const response = await fetch(info.bakedSnapshot);
  if (!response.ok) {
    boot.fallback = `no snapshot baked for this Pyodide build and wheel (HTTP ${response.status})`;
    console.info(`${boot.fallback}: ${info.bakedSnapshot}; starting Python normally`);
    return null;
  }
  return { bytes: inflate(response) };
}

// Inflating ~30 MiB takes a few hundred ms: a worker does it, off the thread that starts Pyodide.
const INFLATER = `onmessage = async ({ data }) => {
  try {
    const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("gzip"));
    const memory = await new Response(stream).arrayBuffer();
    postMessage({ memory }, [memory]);
  } catch (error) {
    postMessage({ error: String(error) });
  }
};`;

async function inflate(response) {
  const bytes = await response.arrayBuffer();
  const head = new Uint8Array(bytes, 0, 2);
  if (head[0] !== 0x1f || head[1] !== 0x8b) return new Uint8Array(bytes); // a host sent it with Content-Encoding: gzip
  const url = URL.createObjectURL(new Blob([INFLATER], { type: "text/javascript" }));
  const worker = new Worker(url);
  try {
    const reply = await new Promise((resolve, reject) => {
      worker.onmessage = ({ data }) => resolve(data);
      worker.onerror = (event) => reject(new Error(event.message || "the inflating worker failed"));
      worker.postMessage(bytes, [bytes]);
    });
    if (reply.error) throw new Error(`the snapshot does not inflate: ${reply.error}`);
    return new Uint8Array(reply.memory);
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
  }
}

async function readSnapshot(info) {
  if (!("caches" in self)) return null;
  const hit = await (await caches.open(SNAPSHOT_CACHE)).match(info.snapshotKey);
  return hit ? new Uint8Array(await hit.arrayBuffer()) : null;
}

async function restoreFromSnapshot(info, snapshot, indexURL) {
  // The snapshot holds the imported modules, not the files: the wheel goes back for lazy imports.
  const wheel = fetch(info.wheelUrl, { integrity: info.integrity }).then((response) => {
    if (!response.ok) throw new Error(`${info.wheelUrl}: HTTP ${response.status}`);
    return response.arrayBuffer();
  });
  wheel.catch(() => {}); // awaited below; a failed restore must not leave it unhandled
  const pyodide = await loadPyodide({ indexURL, _loadSnapshot: snapshot });
  window.edgewasmMark("pyodide");
  pyodide.FS.mkdirTree(SNAPSHOT_WHEEL_DIR);
  pyodide.FS.writeFile(info.wheelPath, new Uint8Array(await wheel));
  return pyodide;
}

let bakedMemory = null; // the inflated baked snapshot, kept in Cache Storage for the next visit

async function bootPython(info) {
  const indexURL = new URL("pyodide/", location.href).href;
  window.edgewasmProgress("pyodide", "Python (Pyodide)", "starting…", "loading");
  const saved = await readSnapshot(info).catch(() => null);
  const baked = saved ? null : await bakedSnapshot(info).catch((error) => {
    boot.fallback = `the baked snapshot could not be fetched (${error})`;
    return null;
  });
  if (saved || baked) {
    const source = saved ? "saved" : "baked";
    try {
      const pyodide = await restoreFromSnapshot(info, saved || baked.bytes, indexURL);
      window.edgewasmMark("wheel");
      boot.path = "snapshot";
      boot.snapshot = saved ? "snapshot" : "baked";
      boot.restored = source;
      bakedMemory = baked && baked.bytes;
      window.edgewasmProgress("pyodide", "Python (Pyodide)", `restored from the ${source} snapshot at ${seconds(boot.marks.pyodide)}`, "done");
      window.edgewasmProgress("wheel", "edgewasm wheel", "in the snapshot", "done");
      return pyodide;
    } catch (error) {
      boot.fallback = `the ${source} snapshot could not be restored: ${String(error.message || error).trim().split("\n")[0]}`;
      console.warn(`${boot.fallback}; starting Python normally`, error);
      if (saved) await caches.delete(SNAPSHOT_CACHE);
    }
  }
  say(boot.fallback ? `loading Python (Pyodide): ${boot.fallback}…` : "loading Python (Pyodide)…");
  const pyodide = await loadPyodide({ indexURL });
  window.edgewasmMark("pyodide");
  boot.path = "standard";
  const why = boot.fallback ? ` (${boot.fallback})` : "";
  window.edgewasmProgress("pyodide", "Python (Pyodide)", `started at ${seconds(boot.marks.pyodide)}${why}`, "done");
  window.edgewasmProgress("wheel", "edgewasm wheel", "loading…", "loading");
  const problems = [];
  const loaded = await pyodide.loadPackage("edgewasm", {
    messageCallback: () => {},
    errorCallback: (message) => problems.push(message),
  });
  if (!loaded.length) {
    throw new Error(`could not load the edgewasm package (${problems.join("; ") || "nothing was loaded"})`);
  }
  window.edgewasmMark("wheel");
  window.edgewasmProgress("wheel", "edgewasm wheel", `loaded at ${seconds(boot.marks.wheel)}`, "done");
  return pyodide;
}

// The page's first model, fetched (and its module compiled) while Python starts. A page names it
// with <link rel="preload" as="fetch" crossorigin href=".../manifest.json" data-edgewasm-model>
// (data-edgewasm-model="VARIANT", default: the manifest's). Python's chunk loader takes these
// responses by URL instead of fetching again, verifies them as always, and instantiates the module
// compiled from the response it verified (runtime/chunks.py).
function fetchModelsEarly() {
  const early = (window.edgewasmEarly = new Map()); // url -> Promise<Response>, taken once
  const compiled = (window.edgewasmEarlyModules = new Map()); // url -> Promise<WebAssembly.Module>
  const start = (url) => {
    const response = fetch(url);
    early.set(url, response);
    return response;
  };
  const fetchOne = async (link) => {
    const manifestUrl = link.href;
    const response = await start(manifestUrl);
    if (!response.ok) return;
    const manifest = await response.clone().json();
    const variant = manifest.variants[link.dataset.edgewasmModel || manifest.default_variant];
    if (!variant) return;
    const moduleUrl = new URL(variant.module.file, manifestUrl).href;
    const module = start(moduleUrl).then((r) => (r.ok ? r.clone() : Promise.reject(new Error(`HTTP ${r.status}`))));
    const compiling = WebAssembly.compileStreaming(module);
    compiling.catch(() => {}); // Python then compiles the bytes it fetched itself
    compiled.set(moduleUrl, compiling);
    for (const chunk of variant.weights) start(new URL(chunk.file, manifestUrl).href);
  };
  for (const link of document.querySelectorAll("link[data-edgewasm-model]")) {
    fetchOne(link).catch((error) => console.info(`the model could not be fetched early (${link.href}): ${error}`));
  }
}

// The next visit restores from Cache Storage, with nothing to download or inflate: the baked
// snapshot as it was restored, or (when none fitted) one a worker makes.
function keepBakedSnapshot(info) {
  const memory = bakedMemory;
  bakedMemory = null;
  boot.snapshot = "making";
  (async () => {
    const cache = await caches.open(SNAPSHOT_CACHE);
    for (const old of await cache.keys()) await cache.delete(old);
    await cache.put(info.snapshotKey, new Response(await memory, { headers: { "content-type": "application/octet-stream" } }));
    boot.snapshot = "saved";
    window.edgewasmProgress("snapshot", "snapshot for the next visit", "the baked one, kept inflated", "done");
  })().catch((error) => {
    console.warn("the baked snapshot could not be kept in Cache Storage:", error);
    boot.snapshot = `failed: ${error}`;
    window.edgewasmProgress("snapshot", "snapshot for the next visit", "failed (see the console)", "error");
  });
}

function makeSnapshotWhenIdle(info) {
  if (!("caches" in self) || boot.restored === "saved") return;
  const start = () => {
    if (bakedMemory) return keepBakedSnapshot(info);
    boot.snapshot = "making";
    window.edgewasmProgress("snapshot", "snapshot for the next visit", "saving…", "loading");
    const worker = new Worker("snapshot-worker.mjs", { type: "module" });
    const finish = (state, text) => {
      worker.terminate();
      boot.snapshot = state;
      window.edgewasmProgress("snapshot", "snapshot for the next visit", text, state === "saved" ? "done" : "error");
    };
    worker.onmessage = ({ data }) =>
      data.ok ? finish("saved", `saved (${(data.bytes / 2 ** 20).toFixed(0)} MiB in ${seconds(data.ms)})`)
              : finish(`failed: ${data.error}`, "failed (see the console)");
    worker.onerror = (event) => finish(`failed: ${event.message}`, "failed (see the console)");
    worker.postMessage({ wheelPath: info.wheelPath, wheelUrl: info.wheelUrl, cacheName: SNAPSHOT_CACHE,
                         cacheKey: info.snapshotKey });
  };
  boot.snapshot = "scheduled";
  (window.requestIdleCallback || ((callback) => setTimeout(callback, 500)))(start, { timeout: 2000 });
}

function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("sw.js").catch((error) => console.warn("no offline support:", error));
}

const RUN_BAKED_PAGE = `import builtins, inspect
_page = eval(builtins.__edgewasm_page__[1], globals())
if inspect.iscoroutine(_page):
    await _page
del _page
`;

async function main() {
  say("loading Python (Pyodide)…");
  fetchModelsEarly();
  const info = await runtimeInfo();
  const pyodide = await bootPython(info);
  window.pyodide = pyodide;
  const response = await fetch("app.py");
  if (!response.ok) throw new Error(`app.py: HTTP ${response.status}`);
  // A baked snapshot may hold app.py compiled (edgewasm/snapshot.py): run that if it is this source.
  const source = await response.text();
  pyodide.globals.set("__edgewasm_source__", source);
  boot.pageCompiled = pyodide.runPython(
    'import builtins\ngetattr(builtins, "__edgewasm_page__", ("",))[0] == __edgewasm_source__');
  pyodide.globals.delete("__edgewasm_source__");
  // returns after the first result
  await pyodide.runPythonAsync(boot.pageCompiled ? RUN_BAKED_PAGE : source, { filename: "app.py" });
  registerServiceWorker();
  makeSnapshotWhenIdle(info);
}

main().catch((error) => {
  console.error(error);
  const lines = String(error.message || error).trim().split("\n");
  say(`error: ${lines[lines.length - 1]}`);
  statusLine.classList.add("error");
});
