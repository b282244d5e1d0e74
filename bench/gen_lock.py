#!/usr/bin/env python3
"""Writes a uv.lock with N packages taken from an OSV advisory tree (PyPA layout),
each pinned to a version its first advisory lists as affected, so most are vulnerable.

usage: gen_lock.py ADVISORY_DIR N OUT
"""
import os
import re
import sys

# PEP 440 appendix B: versions every tool can parse. A few advisories list versions that are
# not PEP 440 (e.g. "0.3X"); pins to those are skipped so that every tool reads every pin.
PEP440 = re.compile(
    r"^\s*v?(?:(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*(?:[-_\.]?(?:alpha|a|beta|b|preview|pre|c|rc)"
    r"[-_\.]?[0-9]*)?(?:-[0-9]+|[-_\.]?(?:post|rev|r)[-_\.]?[0-9]*)?(?:[-_\.]?dev[-_\.]?[0-9]*)?)"
    r"(?:\+[a-z0-9]+(?:[-_\.][a-z0-9]+)*)?\s*$",
    re.IGNORECASE,
)


def first_listed_version(path):
    in_versions = False
    with open(path, encoding="utf-8") as f:
        for line in f:
            stripped = line.strip()
            if stripped == "versions:":
                in_versions = True
                continue
            if in_versions:
                if stripped.startswith("- "):
                    return stripped[2:].strip().strip("'\"")
                in_versions = False
    return None


def main():
    root, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    packages = []
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            v = first_listed_version(os.path.join(d, f))
            if v and PEP440.match(v):
                packages.append((name, v))
                break
        if len(packages) == n:
            break
    i = 0
    while len(packages) < n:
        packages.append((f"clean-package-{i}", f"1.0.{i}"))
        i += 1
    with open(out, "w", encoding="utf-8") as f:
        f.write('version = 1\nrevision = 3\nrequires-python = ">=3.9"\n')
        for name, version in packages:
            f.write(
                f'\n[[package]]\nname = "{name}"\nversion = "{version}"\n'
                'source = { registry = "https://pypi.org/simple" }\n'
            )


if __name__ == "__main__":
    main()
