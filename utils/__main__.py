"""`python -m utils`: find, unpack or fetch Fashion-MNIST ahead of time."""
import sys

from .data import main

sys.exit(main())
