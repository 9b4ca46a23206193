// Boot Pyodide, load the edgewasm wheel, and hand the page over to app.py (all logic is Python).
"use strict";

const statusLine = document.querySelector('[data-testid="status"]');

function say(text) {
  statusLine.textContent = text;
}

async function boot() {
  say("loading Python (Pyodide)…");
  const pyodide = await loadPyodide({ indexURL: new URL("pyodide/", location.href).href });
  say("loading edgewasm…");
  const problems = [];
  const loaded = await pyodide.loadPackage("edgewasm", {
    messageCallback: () => {},
    errorCallback: (message) => problems.push(message),
  });
  if (!loaded.length) {
    throw new Error(`could not load the edgewasm package (${problems.join("; ") || "nothing was loaded"})`);
  }
  const response = await fetch("app.py");
  if (!response.ok) throw new Error(`app.py: HTTP ${response.status}`);
  await pyodide.runPythonAsync(await response.text(), { filename: "app.py" });
}

boot().catch((error) => {
  console.error(error);
  const lines = String(error.message || error).trim().split("\n");
  say(`error: ${lines[lines.length - 1]}`);
  statusLine.classList.add("error");
});
