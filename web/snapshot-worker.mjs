// Make a Pyodide memory snapshot with edgewasm imported, for the next visit to boot from.
//
// Only when the site has no baked snapshot that fits (edgewasm/snapshot.py makes one at build time).
// Runs in a module worker after the page's first result, so the page never waits for it. A
// snapshot must come from an instance started with `_makeSnapshot` (its `js` module is a recording
// proxy that the page itself cannot use), hence a second instance here. Pyodide 314.0.7 only:
// `_makeSnapshot` / `makeMemorySnapshot` are its private, version-pinned API.
import { loadPyodide } from "./pyodide/pyodide.mjs";

// Everything the page's Python imports at start, so a restored interpreter has it in memory (the
// same list as the snapshot baked at build time: edgewasm/snapshot.py's PRELOAD).
const PRELOAD = `
import sys
sys.path.insert(0, WHEEL_PATH)
import array, ast, asyncio, base64, hashlib, json, math, random, struct, time
import js, pyodide.ffi
import edgewasm, edgewasm.runtime.browser_host, edgewasm.runtime.browser_threads, edgewasm.runtime.dom
import edgewasm.runtime.twin
`;

self.onmessage = async (event) => {
  const { wheelPath, wheelUrl, cacheName, cacheKey } = event.data;
  try {
    const started = performance.now();
    const pyodide = await loadPyodide({ indexURL: new URL("pyodide/", location.href).href, _makeSnapshot: true });
    const response = await fetch(wheelUrl);
    if (!response.ok) throw new Error(`${wheelUrl}: HTTP ${response.status}`);
    pyodide.FS.mkdirTree(wheelPath.slice(0, wheelPath.lastIndexOf("/")));
    pyodide.FS.writeFile(wheelPath, new Uint8Array(await response.arrayBuffer()));
    pyodide.runPython(PRELOAD.replace("WHEEL_PATH", JSON.stringify(wheelPath)));
    const snapshot = pyodide.makeMemorySnapshot();
    const cache = await caches.open(cacheName);
    for (const old of await cache.keys()) await cache.delete(old);
    await cache.put(cacheKey, new Response(snapshot, { headers: { "content-type": "application/octet-stream" } }));
    self.postMessage({ ok: true, bytes: snapshot.length, ms: performance.now() - started });
  } catch (error) {
    self.postMessage({ ok: false, error: String((error && error.stack) || error) });
  }
};
