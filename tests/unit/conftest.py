"""Unit tests import the collection as ansible_collections.hakvm.cluster, through collections/ (a link to the tree)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "collections"))
