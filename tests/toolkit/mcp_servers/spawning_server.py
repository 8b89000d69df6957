"""The faulty server, plus a worker process of its own that outlives the server's stdin.

``python spawning_server.py [--stubborn] [--mute PIDFILE]`` starts a worker (a ``sleep``-like Python process
with no stdin, so it never notices the client going away), then serves the faulty tools over stdio and one
more, ``family``, which answers ``{"server": PID, "worker": PID, "parent": PID}``.

* ``--stubborn``: the worker ignores SIGTERM, so only SIGKILL stops it.
* ``--mute PIDFILE``: the server writes the worker's pid to PIDFILE, then answers nothing (not even the
  handshake) and exits when its stdin closes.

Started directly, through ``launcher.py`` or through ``sh -c``, this is the shape of servers behind
``uvx``/``npx`` launchers and of servers that fork workers.
"""

import os
import subprocess
import sys

from faulty_server import build_server  # this script's directory is on sys.path

WORKER = """
import signal, sys, time
if "--stubborn" in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("worker ready", flush=True)
time.sleep(600)
"""

if __name__ == "__main__":
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, *sys.argv[1:]],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
    )
    assert worker.stdout is not None
    worker.stdout.readline()  # the SIGTERM disposition is set before anyone can send one
    worker.stdout.close()
    if "--mute" in sys.argv:
        pidfile = sys.argv[sys.argv.index("--mute") + 1]
        with open(pidfile + ".tmp", "w") as f:
            f.write(str(worker.pid))
        os.replace(pidfile + ".tmp", pidfile)  # the reader never sees a half-written pid
        sys.stdin.buffer.read()  # until the client closes stdin
        sys.exit(0)
    server = build_server()

    @server.tool()
    def family() -> dict[str, int]:
        """This server's pid, its worker's and its parent's (the launcher, when there is one)."""
        return {"server": os.getpid(), "worker": worker.pid, "parent": os.getppid()}

    server.run("stdio")
