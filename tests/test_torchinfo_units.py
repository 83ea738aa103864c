"""torchinfo's summary names its units as a reader expects ("(M)"), not as a Python enum."""
from torch import nn
from torchinfo import summary

import utils  # noqa: F401  (importing utils applies the fix, as in every chapter)


def test_summary_units_are_readable():
    table = str(summary(nn.Conv2d(1, 8, 3), input_size=(1, 1, 28, 28), device="cpu", verbose=0))
    assert "Units." not in table, table
    assert "Total mult-adds (M):" in table, table
