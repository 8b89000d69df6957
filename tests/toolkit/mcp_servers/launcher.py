"""``python launcher.py COMMAND ARGS...``: run the command as a child and wait for it (as uvx, npx do).

The child inherits stdin, stdout and stderr; the launcher exits with the child's status (128+N for signal N).
"""

import subprocess
import sys

if __name__ == "__main__":
    status = subprocess.call(sys.argv[1:])
    sys.exit(128 - status if status < 0 else status)
