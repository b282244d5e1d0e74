#!/usr/bin/env python3
"""Stands in for the network services the peer tools call, on 127.0.0.1 only, serving the
same PyPA advisory snapshot that stormwatch imports, so that every tool audits the same data
offline.

It is an HTTPS proxy (peers are started with HTTPS_PROXY pointing here and a CA bundle that
trusts a certificate made for the run) that answers, inside the tunnel:

- github.com  GET  /pypa/advisory-database/archive/main.zip   the snapshot as the zip
  GitHub serves (pysentry-rs downloads it and builds its own cache from it)
- api.osv.dev POST /v1/query, /v1/querybatch; GET /v1/vulns/ID   OSV API semantics
  (pip-audit's OSV service)

Any other host is refused at once, so a peer that tries to reach the internet fails fast
instead of waiting for a timeout.

usage: upstream.py ADVISORY_DIR CERT KEY PORT_FILE
       upstream.py --non-pep440-fixed ADVISORY_DIR   (lists packages whose advisories name a
                                                      fixed version that is not PEP 440)
"""
import functools
import io
import json
import os
import socket
import ssl
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

class Loader(yaml.CSafeLoader):
    """Keeps timestamps as the strings the advisory has, as OSV's JSON API returns them."""


Loader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}

ZIP_PATH = "/pypa/advisory-database/archive/main.zip"
SERVED_HOSTS = {"github.com", "api.osv.dev"}


def load(root):
    records, by_package, files = {}, {}, []
    for dirpath, _, names in os.walk(root):
        for name in sorted(names):
            if not name.endswith((".yaml", ".yml", ".json")):
                continue
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                raw = f.read()
            files.append((os.path.relpath(path, root), raw))
            rec = json.loads(raw) if name.endswith(".json") else yaml.load(raw, Loader=Loader)
            records[rec["id"]] = json.loads(json.dumps(rec))
            for affected in rec.get("affected", []):
                pkg = affected.get("package", {})
                if pkg.get("ecosystem") == "PyPI":
                    by_package.setdefault(canonicalize_name(pkg["name"]), []).append((rec, affected))
    return records, by_package, files


@functools.lru_cache(maxsize=None)
def parse(v):
    try:
        return Version(str(v))
    except InvalidVersion:
        return None


def in_range(events, version):
    """OSV ECOSYSTEM range evaluation: walk events in version order."""
    keyed = []
    for e in events:
        for kind, raw in e.items():
            if kind == "introduced" and str(raw) == "0":
                keyed.append((Version("0.dev0"), 0, kind))
            elif kind in ("introduced", "fixed", "last_affected"):
                parsed = parse(raw)
                if parsed is not None:
                    keyed.append((parsed, 1 if kind == "introduced" else 0, kind))
    affected = False
    for at, _, kind in sorted(keyed, key=lambda k: (k[0], k[1])):
        if kind == "introduced" and at <= version:
            affected = True
        elif kind == "fixed" and at <= version:
            affected = False
        elif kind == "last_affected" and at < version:
            affected = False
    return affected


def listed_versions(affected):
    """The affected entry's version list, parsed once (cached on the entry)."""
    if "_listed" not in affected:
        affected["_listed"] = {parse(v) for v in affected.get("versions") or []} - {None}
    return affected["_listed"]


def affects(affected, version_text):
    version = parse(version_text)
    if version_text in (affected.get("versions") or []) or version in listed_versions(affected):
        return True
    if version is None:
        return False
    return any(
        r.get("type") == "ECOSYSTEM" and in_range(r.get("events", []), version)
        for r in affected.get("ranges", [])
    )


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    host = None

    def log_message(self, *_):
        pass

    def reply(self, status, body=b"", ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_CONNECT(self):
        host = self.path.rsplit(":", 1)[0]
        if host not in SERVED_HOSTS:
            self.reply(502)
            self.close_connection = True
            return
        self.send_response(200, "Connection Established")
        self.end_headers()
        self.wfile.flush()
        try:
            tls = self.server.tls.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            self.close_connection = True
            return
        inner = type("Tunnel", (Upstream,), {"host": host})
        try:
            inner(tls, self.client_address, self.server)
        except (ssl.SSLError, OSError):
            pass
        self.close_connection = True

    def do_GET(self):
        data = self.server.data
        if self.host == "github.com" and self.path == ZIP_PATH:
            self.reply(200, data["zip"], "application/zip")
        elif self.host == "api.osv.dev" and self.path.startswith("/v1/vulns/"):
            rec = data["records"].get(self.path[len("/v1/vulns/"):])
            self.reply(200 if rec else 404, json.dumps(rec or {"message": "Bug not found."}).encode())
        else:
            self.reply(404)

    def matches(self, query):
        pkg = query.get("package", {})
        name = canonicalize_name(pkg.get("name", ""))
        version = query.get("version", "")
        seen, out = set(), []
        for rec, affected in self.server.data["by_package"].get(name, []):
            if rec["id"] not in seen and affects(affected, version):
                seen.add(rec["id"])
                out.append(self.server.data["records"][rec["id"]])
        return out

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.host != "api.osv.dev":
            self.reply(404)
        elif self.path == "/v1/query":
            vulns = self.matches(body)
            self.reply(200, json.dumps({"vulns": vulns} if vulns else {}).encode())
        elif self.path == "/v1/querybatch":
            results = [
                {"vulns": [{"id": r["id"], "modified": r.get("modified", "")} for r in self.matches(q)]}
                for q in body.get("queries", [])
            ]
            self.reply(200, json.dumps({"results": results}).encode())
        else:
            self.reply(404)


def non_pep440_fixed(root):
    """Packages whose advisories name a fixed version that is not PEP 440."""
    _, by_package, _ = load(root)
    for name, entries in sorted(by_package.items()):
        fixed = [
            e["fixed"]
            for _, a in entries
            for r in a.get("ranges", [])
            if r.get("type") == "ECOSYSTEM"
            for e in r.get("events", [])
            if "fixed" in e
        ]
        if any(parse(v) is None for v in fixed):
            print(name)


def main():
    if sys.argv[1] == "--non-pep440-fixed":
        return non_pep440_fixed(sys.argv[2])
    root, cert, key, port_file = sys.argv[1:5]
    records, by_package, files = load(root)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for rel, raw in files:
            z.writestr(f"advisory-database-main/vulns/{rel}", raw)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    server.daemon_threads = True
    server.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.tls.load_cert_chain(cert, key)
    server.data = {"records": records, "by_package": by_package, "zip": buf.getvalue()}
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
