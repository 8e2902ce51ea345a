#!/usr/bin/env python
import sys

from relance.cli import main

if __name__ == "__main__":
    sys.exit(main(["relance", *sys.argv[1:]], raw=True))
