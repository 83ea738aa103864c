"""Where GitHub Pages publishes the book, derived from `repository.url` in _config.yml.

    .venv/bin/python -m tools.pages_url   # prints e.g. https://classic-cnns.github.io/classic-cnns-pytorch/

The one place that knows the rule: the README's link and its test both come from here.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

CONFIG = Path(__file__).resolve().parents[1] / "_config.yml"


def repository_url(config: Path = CONFIG) -> str:
    return yaml.safe_load(config.read_text())["repository"]["url"]


def github_owner_and_repo(repository: str) -> tuple[str, str]:
    """https://github.com/OWNER/REPO (optionally .git or a trailing slash) -> (OWNER, REPO)."""
    match = re.fullmatch(r"https://github\.com/([A-Za-z0-9-]+)/([A-Za-z0-9._-]+?)(?:\.git)?/?", repository.strip())
    if match is None:
        raise ValueError(f"repository.url {repository!r} is not https://github.com/OWNER/REPO: "
                         "set it in _config.yml to the repository that publishes the book")
    return match.group(1), match.group(2)


def pages_url(repository: str) -> str:
    """https://github.com/OWNER/REPO -> https://OWNER.github.io/REPO/ (GitHub lower-cases the owner)."""
    owner, repo = github_owner_and_repo(repository)
    if repo.lower() == f"{owner.lower()}.github.io":  # a user or organization site lives at the root
        return f"https://{owner.lower()}.github.io/"
    return f"https://{owner.lower()}.github.io/{repo}/"


if __name__ == "__main__":
    print(pages_url(repository_url()))
