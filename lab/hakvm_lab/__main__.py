"""Entry point: python -m hakvm_lab."""
import sys

from hakvm_lab.cli import main

sys.exit(main())
