"""``python -m returnrules``: the same as the ``returnrules`` command."""

import sys

from returnrules.cli import main

if __name__ == "__main__":
    sys.exit(main())
