"""``python -m scenegen.cli``: the ``scenegen`` command."""

import sys

from scenegen.cli import main

if __name__ == "__main__":
    sys.exit(main())
