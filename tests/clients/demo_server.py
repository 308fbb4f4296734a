"""A gongshu server with the demo catalog on a free loopback port, in a
temporary data directory, for the client suites in this folder."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check(condition, what, detail=""):
    """Stops the suite at the first thing that does not hold."""
    if not condition:
        sys.exit(f"FAILED: {what}\n{detail}")
    print(f"ok: {what}")


@contextlib.contextmanager
def demo_server(binary):
    """Yields (base URL, a scratch directory); stops the server and removes both afterwards."""
    work = tempfile.mkdtemp(prefix="gongshu-clients-")
    port = free_port()
    server = subprocess.Popen(
        [os.path.abspath(binary), "--data-dir", os.path.join(work, "data"), "serve", "--demo", "--listen", f"127.0.0.1:{port}"],
        stderr=subprocess.PIPE, text=True)
    try:
        for line in server.stderr:
            if "gongshu listening on" in line:
                break
        else:
            sys.exit("gongshu did not start")
        yield f"http://127.0.0.1:{port}", work
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)
