#!/usr/bin/env python3
"""Converts an OSV advisory tree (PyPA layout) into the database directory that safety 2.x
reads with `safety check --db DIR`: insecure.json (package -> vulnerable specifiers) and
insecure_full.json (package -> advisories with their specifiers). Each ECOSYSTEM range
becomes one specifier per affected interval; an advisory with only a version list becomes
one `==V` specifier per version. Withdrawn advisories are left out, as the other tools do.

usage: safety_db.py ADVISORY_DIR OUT_DIR
"""
import json
import os
import sys

import yaml
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version


def key(raw):
    try:
        return Version(str(raw))
    except InvalidVersion:
        return None


def intervals(events):
    points = []
    for e in events:
        for kind, raw in e.items():
            if kind == "introduced" and str(raw) == "0":
                points.append((Version("0.dev0"), 0, kind, None))
            elif kind in ("introduced", "fixed", "last_affected") and key(raw) is not None:
                points.append((key(raw), 1 if kind == "introduced" else 0, kind, str(raw)))
    specs, start = [], False
    for _, _, kind, raw in sorted(points, key=lambda p: (p[0], p[1])):
        if kind == "introduced" and start is False:
            start = raw
        elif kind in ("fixed", "last_affected") and start is not False:
            op = "<" if kind == "fixed" else "<="
            specs.append(",".join(filter(None, [start and f">={start}", f"{op}{raw}"])))
            start = False
    if start is not False:
        specs.append(f">={start}" if start else "")
    return specs


def main():
    root, out = sys.argv[1], sys.argv[2]
    short, full = {}, {"$meta": {"advisory_count": 0, "base_domain": "", "schema_version": "2.0.0"}}
    for dirpath, _, names in os.walk(root):
        for name in sorted(names):
            if not name.endswith((".yaml", ".yml", ".json")):
                continue
            with open(os.path.join(dirpath, name), "rb") as f:
                raw = f.read()
            rec = json.loads(raw) if name.endswith(".json") else yaml.load(raw, Loader=yaml.CSafeLoader)
            if rec.get("withdrawn"):
                continue
            cves = [a for a in rec.get("aliases", []) if a.startswith("CVE-")]
            for affected in rec.get("affected", []):
                pkg = affected.get("package", {})
                if pkg.get("ecosystem") != "PyPI":
                    continue
                ranges = [r for r in affected.get("ranges", []) if r.get("type") == "ECOSYSTEM"]
                specs = [s for r in ranges for s in intervals(r.get("events", []))]
                if not ranges:
                    specs = [f"=={v}" for v in affected.get("versions", [])]
                if not specs:
                    continue
                pname = canonicalize_name(pkg["name"])
                known = short.setdefault(pname, [])
                known.extend(s for s in specs if s not in known)
                full.setdefault(pname, []).append({
                    "id": rec["id"],
                    "specs": specs,
                    "v": ",".join(specs),
                    "advisory": rec.get("summary") or rec.get("details", ""),
                    "cve": ",".join(cves),
                    "affected_versions": affected.get("versions", []),
                    "fixed_versions": [
                        e["fixed"] for r in ranges for e in r.get("events", []) if "fixed" in e
                    ],
                })
                full["$meta"]["advisory_count"] += 1
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "insecure.json"), "w") as f:
        json.dump(short, f)
    with open(os.path.join(out, "insecure_full.json"), "w") as f:
        json.dump(full, f)


if __name__ == "__main__":
    main()
