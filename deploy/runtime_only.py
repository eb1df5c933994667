"""Which installed packages Destek does not need at run time (the `dev` extra and what only it
pulls in), one name per line, for `pip uninstall` in deploy/Dockerfile.

requirements.lock pins and hashes everything, the test tools included; the image installs all of
it with `--require-hashes` (nothing unverified) and then drops what this prints. The closure is
read from the installed packages' own metadata, starting at `[project] dependencies` of
pyproject.toml, with each dependency's extras and markers honoured.

    python deploy/runtime_only.py pyproject.toml | xargs -r pip uninstall -y
"""

from __future__ import annotations

import sys
import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

KEEP = {"pip", "setuptools", "wheel"}


def needed(roots: list[str]) -> set[str]:
    seen: set[tuple[str, frozenset[str]]] = set()
    names: set[str] = set()
    todo = [Requirement(root) for root in roots]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        names.add(name)
        for line in metadata.requires(requirement.name) or []:
            dependency = Requirement(line)
            # Requirements of an extra apply only when that extra was asked for.
            environments = [{"extra": extra} for extra in requirement.extras] or [{"extra": ""}]
            if dependency.marker is None or any(
                dependency.marker.evaluate(env) for env in environments
            ):
                todo.append(dependency)
    return names


def main(pyproject: str) -> None:
    with open(pyproject, "rb") as handle:
        roots = tomllib.load(handle)["project"]["dependencies"]
    keep = needed(roots) | KEEP
    installed: set[str] = {canonicalize_name(d.metadata["Name"]) for d in metadata.distributions()}
    for name in sorted(installed - keep):
        print(name)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml")
