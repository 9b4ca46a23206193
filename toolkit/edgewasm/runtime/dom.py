"""Page helpers the edgewasm pages share (the digits demo and the page `edgewasm web` generates):
they run in Pyodide, on `js` and `pyodide.ffi` only, and ship in the runtime wheel so a page's
own script stays about its page."""

from __future__ import annotations

import asyncio

import js
from pyodide.ffi import create_proxy, to_js


def by_testid(name):
    return js.document.querySelector(f'[data-testid="{name}"]')


def listen(element, event, handler):
    """Attach a Python handler; the returned proxy must stay referenced while the page lives."""
    proxy = create_proxy(handler)
    element.addEventListener(event, proxy)
    return proxy


def run_soon(coroutine):
    """Start a coroutine from an event handler; its failure is shown, not lost."""
    task = asyncio.ensure_future(coroutine)
    task.add_done_callback(lambda t: t.cancelled() or t.exception() is None or show_error(t.exception()))
    return task


def show_error(error):
    js.console.error(str(error))
    status = by_testid("status")
    status.textContent = f"error: {error}"
    status.classList.add("error")


def kib(nbytes):
    return f"{nbytes / 1024:.1f} KiB"


def context_2d(canvas):
    return canvas.getContext("2d", to_js({"willReadFrequently": True}, dict_converter=js.Object.fromEntries))


class InkStrokes:
    """Pointer strokes in dark ink on a canvas (mouse, pen or touch); `on_release()` after each stroke."""

    def __init__(self, canvas, width, on_release):
        self.canvas, self.width, self.on_release = canvas, width, on_release
        self.context = context_2d(canvas)
        self.drawing = False
        self.handlers = [listen(canvas, name, handler) for name, handler in
                         (("pointerdown", self.down), ("pointermove", self.move), ("pointerup", self.up),
                          ("pointercancel", self.up))]

    def point(self, event):
        scale = self.canvas.width / max(self.canvas.clientWidth, 1)
        return event.offsetX * scale, event.offsetY * scale

    def down(self, event):
        event.preventDefault()
        self.canvas.setPointerCapture(event.pointerId)
        self.drawing = True
        x, y = self.point(event)
        ctx = self.context
        ctx.strokeStyle = ctx.fillStyle = "#111"
        ctx.lineWidth = self.width
        ctx.lineCap = ctx.lineJoin = "round"
        ctx.beginPath()
        ctx.arc(x, y, self.width / 2, 0, 6.2832)
        ctx.fill()
        ctx.beginPath()
        ctx.moveTo(x, y)

    def move(self, event):
        if self.drawing:
            x, y = self.point(event)
            self.context.lineTo(x, y)
            self.context.stroke()

    def up(self, event):
        if self.drawing:
            self.drawing = False
            self.on_release()

    def clear(self):
        self.context.clearRect(0, 0, self.canvas.width, self.canvas.height)
