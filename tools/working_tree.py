"""The working tree's code, always: every kernel or process a tool starts imports this checkout's
`utils` and `tools`, not whichever clone last ran `pip install -e .` into the environment."""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def with_working_tree(env: dict[str, str] | os._Environ) -> dict[str, str]:
    """A copy of `env` whose PYTHONPATH starts with this checkout (ahead of site-packages, where an
    editable install of another clone would otherwise win)."""
    rest = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and Path(p).resolve() != REPO]
    return {**env, "PYTHONPATH": os.pathsep.join([str(REPO), *rest])}
