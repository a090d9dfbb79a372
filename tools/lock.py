#!/usr/bin/env python3
"""Regenerate or check the lock files (exact versions with hashes) from pyproject.toml.

    tools/lock.py                      # after a dependency change; keeps pins that still fit
    tools/lock.py --upgrade            # every package to the newest version pyproject allows
    tools/lock.py --upgrade-package X  # one package (repeatable)
    tools/lock.py --check              # CI: exit 1 unless the committed locks match pyproject

requirements/runtime.lock holds the runtime dependencies (installable on its own, for images
that run ipdesk); requirements/dev.lock adds the `dev` extra and is constrained by the runtime
lock, so both pin the same version of every package they share. Both also pin pip and the
build backend (requirements/tooling.in) so that an install fetches nothing unpinned.

The locks are universal (any platform, Python 3.11+) and are made with the uv pinned in
dev.lock, so the same inputs give the same files on any machine. The check regenerates into a
temporary folder starting from the committed pins and compares the requirement lines: a
version, package or marker that differs fails. Hashes the committed lock names must all
still be published for that version; hashes of files published since (a new wheel of an old
release) are reported but do not fail, so the check does not turn red on its own overnight.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = Path("requirements")
TOOLING = REQUIREMENTS / "tooling.in"
RUNTIME = REQUIREMENTS / "runtime.lock"
DEV = REQUIREMENTS / "dev.lock"
PYTHON_VERSION = "3.11"


def find_uv() -> str:
    for candidate in (os.environ.get("UV"), str(ROOT / ".venv" / "bin" / "uv"), shutil.which("uv")):
        if candidate and Path(candidate).is_file():
            return candidate
    return install_locked_uv()


def install_locked_uv() -> str:
    """Install the uv that dev.lock pins into this virtual environment.

    So that `make lock` works before `make install` can (a dependency just added to
    pyproject.toml is missing from the lock until then).
    """
    if sys.prefix == sys.base_prefix:
        sys.exit("tools/lock.py: uv not found; run it with .venv/bin/python after `make install`")
    block, keep = [], False
    for line in DEV.read_text().splitlines():
        if not line.startswith((" ", "\t")):
            keep = line.startswith("uv==")
        if keep and not line.strip().startswith("#"):
            block.append(line)
    if not block:
        sys.exit(f"tools/lock.py: uv is pinned in neither PATH nor {DEV}")
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as requirement:
        requirement.write("\n".join(block) + "\n")
        requirement.flush()
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--require-hashes"]
        subprocess.run([*pip, "--no-deps", "-r", requirement.name], check=True)
    return str(Path(sys.executable).parent / "uv")


def check_tooling_matches_build_system() -> None:
    """tooling.in must pin the build backend pyproject.toml builds with."""
    build_requires = tomllib.loads(Path("pyproject.toml").read_text())["build-system"]["requires"]
    listed = {line.strip() for line in TOOLING.read_text().splitlines() if not line.startswith("#")}
    missing = [requirement for requirement in build_requires if requirement not in listed]
    if missing:
        sys.exit(f"tools/lock.py: add {', '.join(missing)} ([build-system] requires) to {TOOLING}")


def compile_lock(uv: str, output: Path, *, extra_args: list[str], upgrade: list[str]) -> None:
    command = [
        uv,
        "pip",
        "compile",
        "pyproject.toml",
        str(TOOLING),
        *extra_args,
        "--generate-hashes",
        "--universal",
        "--python-version",
        PYTHON_VERSION,
        "--annotation-style",
        "line",
        "--custom-compile-command",
        "make lock",
        "--no-config",
        "--quiet",
        "--output-file",
        str(output),
        *upgrade,
    ]
    subprocess.run(command, check=True)


def compile_both(uv: str, runtime: Path, dev: Path, upgrade: list[str]) -> None:
    compile_lock(uv, runtime, extra_args=[], upgrade=upgrade)
    # Dev tools may not move a runtime package away from the version production runs.
    compile_lock(uv, dev, extra_args=["--extra", "dev", "--constraint", str(runtime)], upgrade=[])


def parse_lock(path: Path) -> dict[str, set[str]]:
    """Requirement line (name==version ; marker) -> its hashes; comments are left out."""
    entries: dict[str, set[str]] = {}
    current = ""
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        line = line.removesuffix("\\").strip()
        if not line:
            continue
        if line.startswith("--hash="):
            entries[current].add(line.removeprefix("--hash="))
        else:
            current = line
            entries[current] = set()
    return entries


def compare(committed_path: Path, fresh_path: Path) -> list[str]:
    committed, fresh = parse_lock(committed_path), parse_lock(fresh_path)
    problems = [
        f"{committed_path}: pinned but no longer resolved: {line}"
        for line in committed
        if line not in fresh
    ]
    problems += [
        f"{committed_path}: missing, resolved from pyproject.toml: {line}"
        for line in fresh
        if line not in committed
    ]
    for line, hashes in committed.items():
        if line not in fresh:
            continue
        unknown = hashes - fresh[line]
        if unknown:
            problems.append(f"{committed_path}: {line}: hashes not published: {sorted(unknown)}")
        if not hashes:
            problems.append(f"{committed_path}: {line}: no hashes")
        added = fresh[line] - hashes
        if added:
            print(f"note: {line}: {len(added)} file(s) published since the lock was made")
    return problems


def start_from_pins(committed: Path, output: Path) -> None:
    """Seed uv with the committed versions but not their hashes.

    uv keeps the versions of an existing output file where they still fit, and would keep its
    hashes too; leaving the hashes out makes every hash come fresh from the index, so a wrong
    one cannot survive a regeneration.
    """
    if not committed.exists():
        return
    lines = committed.read_text().splitlines()
    pins = [line.removesuffix(" \\") for line in lines if not line.strip().startswith("--hash=")]
    output.write_text("\n".join(pins) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, change nothing")
    parser.add_argument("--upgrade", action="store_true", help="newest allowed versions")
    parser.add_argument("--upgrade-package", action="append", default=[], metavar="NAME")
    args = parser.parse_args()
    os.chdir(ROOT)
    check_tooling_matches_build_system()
    uv = find_uv()
    upgrade = ["--upgrade"] if args.upgrade else []
    for name in args.upgrade_package:
        upgrade += ["--upgrade-package", name]

    with tempfile.TemporaryDirectory(prefix="ipdesk-lock-") as folder:
        runtime, dev = Path(folder) / RUNTIME.name, Path(folder) / DEV.name
        start_from_pins(RUNTIME, runtime)
        start_from_pins(DEV, dev)
        compile_both(uv, runtime, dev, upgrade=upgrade if not args.check else [])
        if not args.check:
            # The dev lock names its constraint file; name the committed one, not the copy.
            dev.write_text(dev.read_text().replace(str(runtime), str(RUNTIME)))
            shutil.copyfile(runtime, RUNTIME)
            shutil.copyfile(dev, DEV)
            print(f"wrote {RUNTIME} and {DEV}; commit them with the pyproject.toml change")
            return 0
        problems = []
        for committed, fresh in ((RUNTIME, runtime), (DEV, dev)):
            if not committed.exists():
                problems.append(f"{committed} is missing")
                continue
            problems += compare(committed, fresh)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print("the locks do not match pyproject.toml: run `make lock` and commit", file=sys.stderr)
        return 1
    print(f"{RUNTIME} and {DEV} match pyproject.toml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
