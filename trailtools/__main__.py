import sys

from trailtools.cli import main

sys.exit(main())
