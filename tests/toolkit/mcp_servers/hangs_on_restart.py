"""The faulty server, except that once a marker file exists it hangs at start-up instead of serving.

``python hangs_on_restart.py MARKER``: the first start creates MARKER and serves; every later start hangs.
"""

import sys
import time
from pathlib import Path

from faulty_server import build_server  # this script's directory is on sys.path

if __name__ == "__main__":
    marker = Path(sys.argv[1])
    if marker.exists():
        time.sleep(3600)
    marker.touch()
    build_server().run("stdio")
