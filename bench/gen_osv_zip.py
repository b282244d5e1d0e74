#!/usr/bin/env python3
"""Writes an OSV zip the size and shape of osv.dev's PyPI export (PyPI/all.zip):
RECORDS advisories (default 30,000) over ~9,000 packages, each with a details text,
aliases, references, a CVSS vector, ECOSYSTEM ranges and, for most, an explicit versions
list, as the real PYSEC/GHSA/MAL records carry. Deterministic (seeded).

usage: gen_osv_zip.py OUT.zip [RECORDS]
"""
import json
import random
import sys
import zipfile

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 30000
rnd = random.Random(440)
words = ("request handler cookie header parser overflow injection traversal redirect "
         "denial service memory exhaustion crafted input validation bypass authentication "
         "template sandbox escape deserialization path symlink upload archive regex").split()


def text(k):
    return " ".join(rnd.choice(words) for _ in range(k)).capitalize() + "."


packages = [f"pkg-{i}" for i in range(9000)]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for i in range(n):
        kind = rnd.random()
        if kind < 0.35:
            ident = f"PYSEC-{2015 + i % 11}-{i}"
        elif kind < 0.7:
            ident = "GHSA-" + "-".join("".join(rnd.choice("23456789cfghjmpqrvwx") for _ in range(4)) for _ in range(3)) + f"{i % 10}"
        else:
            ident = f"MAL-2025-{i}"
        pkg = rnd.choice(packages)
        major = rnd.randint(0, 5)
        versions = [f"{major}.{m}.{p}" for m in range(rnd.randint(1, 12)) for p in range(rnd.randint(1, 10))]
        fixed = f"{major}.{len(versions) // 5 + 1}.0"
        affected = [{
            "package": {"ecosystem": "PyPI", "name": pkg, "purl": f"pkg:pypi/{pkg}"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            "versions": versions if rnd.random() < 0.8 else [],
            "database_specific": {"source": f"https://github.com/pypa/advisory-database/blob/main/vulns/{pkg}/{ident}.yaml"},
        }]
        record = {
            "schema_version": "1.6.0",
            "id": ident,
            "modified": f"202{rnd.randint(0, 6)}-0{rnd.randint(1, 9)}-1{rnd.randint(0, 9)}T12:00:00Z",
            "published": f"20{rnd.randint(15, 26)}-0{rnd.randint(1, 9)}-0{rnd.randint(1, 9)}T00:00:00Z",
            "aliases": [f"CVE-20{rnd.randint(15, 26)}-{rnd.randint(1000, 99999)}"] if kind < 0.7 else [],
            "summary": text(8),
            "details": " ".join(text(rnd.randint(10, 40)) for _ in range(rnd.randint(2, 12))),
            "affected": affected,
            "references": [{"type": rnd.choice(["ADVISORY", "WEB", "PACKAGE", "FIX"]),
                            "url": f"https://example.org/{ident}/{j}"} for j in range(rnd.randint(2, 9))],
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}] if kind < 0.7 else [],
            "database_specific": {"severity": rnd.choice(["LOW", "MODERATE", "HIGH", "CRITICAL"])},
        }
        z.writestr(f"{ident}.json", json.dumps(record, indent=2))
