import sys

from softpile.cli import main

sys.exit(main())
