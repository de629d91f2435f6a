"""``python -m formexport``: the same as the ``formexport`` command."""

import sys

from formexport.cli import main

sys.exit(main())
