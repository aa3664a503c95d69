import sys

from softpile.cli import main

if __name__ == "__main__":
    sys.exit(main())
