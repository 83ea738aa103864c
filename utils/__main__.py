"""`python -m utils`: find, unpack or download Fashion-MNIST ahead of time."""
from __future__ import annotations

import argparse
import sys

from .fashion_mnist import DATA_ENV_VAR, DataUnavailableError, prepare_fashion_mnist


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m utils",
        description="Make Fashion-MNIST ready for the course: look in the data root, then unpack Debian's "
                    "dataset-fashion-mnist package, then download it with torchvision. Installs nothing "
                    "(on Debian, `make data` installs the package first).")
    parser.add_argument("--root", help=f"the data folder (default: ${DATA_ENV_VAR}, else ~/.cache/cnn-course/data)")
    parser.add_argument("--no-download", action="store_true", help="never download; use local copies only")
    args = parser.parse_args(argv)
    try:
        raw = prepare_fashion_mnist(args.root, download=not args.no_download)
    except DataUnavailableError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"Fashion-MNIST ready in {raw}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
