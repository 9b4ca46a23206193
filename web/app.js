// Boot Python as fast as the browser allows, then hand the page over to app.py (the logic is Python).
//
// A first visit boots Pyodide and loads the edgewasm wheel (from its lockfile entry). Once the first
// result is shown, a worker saves a memory snapshot of an interpreter with edgewasm imported, and a
// service worker precaches the shell: the next visit restores the snapshot instead of booting
// (measured in README.md) and works with the network off.
"use strict";

const SNAPSHOT_CACHE = "edgewasm-snapshots-v1";
const SNAPSHOT_WHEEL_DIR = "/lib/edgewasm-snapshot/";
const statusLine = document.querySelector('[data-testid="status"]');

// What the tests and the page read: how Python started and when each step was done
// (performance.now(), i.e. milliseconds since the page was opened).
const boot = (window.edgewasmBoot = { path: null, snapshot: "none", marks: {} });
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
  };
}

async function readSnapshot(info) {
  if (!("caches" in self)) return null;
  const hit = await (await caches.open(SNAPSHOT_CACHE)).match(info.snapshotKey);
  return hit ? new Uint8Array(await hit.arrayBuffer()) : null;
}

async function restoreFromSnapshot(info, snapshot, indexURL) {
  const pyodide = await loadPyodide({ indexURL, _loadSnapshot: snapshot });
  window.edgewasmMark("pyodide");
  // The snapshot holds the imported modules, not the files: put the wheel back for lazy imports.
  const response = await fetch(info.wheelUrl, { integrity: info.integrity });
  if (!response.ok) throw new Error(`${info.wheelUrl}: HTTP ${response.status}`);
  pyodide.FS.mkdirTree(SNAPSHOT_WHEEL_DIR);
  pyodide.FS.writeFile(info.wheelPath, new Uint8Array(await response.arrayBuffer()));
  return pyodide;
}

async function bootPython(info) {
  const indexURL = new URL("pyodide/", location.href).href;
  window.edgewasmProgress("pyodide", "Python (Pyodide)", "starting…", "loading");
  const snapshot = await readSnapshot(info).catch(() => null);
  if (snapshot) {
    try {
      const pyodide = await restoreFromSnapshot(info, snapshot, indexURL);
      window.edgewasmMark("wheel");
      boot.path = boot.snapshot = "snapshot";
      window.edgewasmProgress("pyodide", "Python (Pyodide)", `restored from a snapshot at ${seconds(boot.marks.pyodide)}`, "done");
      window.edgewasmProgress("wheel", "edgewasm wheel", "in the snapshot", "done");
      return pyodide;
    } catch (error) {
      console.warn("the Python snapshot could not be restored; starting Python normally", error);
      await caches.delete(SNAPSHOT_CACHE);
    }
  }
  const pyodide = await loadPyodide({ indexURL });
  window.edgewasmMark("pyodide");
  boot.path = "standard";
  window.edgewasmProgress("pyodide", "Python (Pyodide)", `started at ${seconds(boot.marks.pyodide)}`, "done");
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

function makeSnapshotWhenIdle(info) {
  if (!("caches" in self) || boot.path === "snapshot") return;
  const start = () => {
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

async function main() {
  say("loading Python (Pyodide)…");
  const info = await runtimeInfo();
  const pyodide = await bootPython(info);
  window.pyodide = pyodide;
  const response = await fetch("app.py");
  if (!response.ok) throw new Error(`app.py: HTTP ${response.status}`);
  await pyodide.runPythonAsync(await response.text(), { filename: "app.py" }); // returns after the first result
  registerServiceWorker();
  makeSnapshotWhenIdle(info);
}

main().catch((error) => {
  console.error(error);
  const lines = String(error.message || error).trim().split("\n");
  say(`error: ${lines[lines.length - 1]}`);
  statusLine.classList.add("error");
});
