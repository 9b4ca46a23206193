"""Words of a threaded module's memory that its threads and the host share (stdlib only).

They lie inside the 64 bytes the memory plan never uses (backend/plan.py WEIGHTS_BASE; 16 is the
loop-variant word, runtime/sandbox.py). backend/threads.py documents the protocol.
"""

THREADS_OFFSET = 20  # k, the threads taking part in this run (written by the host; 0 counts as 1)
COUNT_OFFSET = 24  # barrier: threads arrived
GENERATION_OFFSET = 28  # barrier: bumped by the last arrival (waiters wait on it)
ABORT_OFFSET = 32  # nonzero: a thread trapped; the others trap at their barrier
STATUS_OFFSET = 36  # a run-time failure status thread 0 hit (every thread returns it)
MAIN_MAY_BLOCK_OFFSET = 40  # nonzero: thread 0 may block in wait32 (not a browser main thread)
GO_OFFSET = 44  # bumped (and notified) by run() on thread 0: the workers' signal to start this run
DONE_OFFSET = 48  # bumped by each worker when its share of a run returned (or, in a browser worker, threw)
WORKER_EXPORT = "run_thread"  # run_thread(t): thread t's share of one run (the browser's workers)
SERVE_EXPORT = "serve"  # serve(t, go): thread t's share of every run, waiting inside the module (wasmtime)


def thread_words(threads: int, main_may_block: bool) -> list[tuple[int, int]]:
    """(offset, value) of every shared word before a run: a clean barrier, no abort, k threads."""
    return [(THREADS_OFFSET, threads), (COUNT_OFFSET, 0), (ABORT_OFFSET, 0), (STATUS_OFFSET, 0),
            (MAIN_MAY_BLOCK_OFFSET, int(main_may_block))]
