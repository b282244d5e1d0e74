#!/usr/bin/env python3
"""Writes a synthetic Tornado code base of about LINES lines under OUT: packages of
handler modules, settings modules and helpers. Every 25th module enables debug mode in one
of several real-world forms (keyword, settings dict, dict() + update, env default, option
default); the number seeded is printed on stdout.

usage: gen_tree.py LINES OUT
"""
import os
import sys

HANDLER = '''
class Handler{n}(tornado.web.RequestHandler):
    def initialize(self, db):
        self.db = db

    async def get(self, item_id):
        item = await self.db.fetch("items", item_id)
        if item is None:
            raise tornado.web.HTTPError(404)
        self.write({{"id": item_id, "name": item["name"], "tags": list(item["tags"])}})

    async def post(self, item_id):
        body = tornado.escape.json_decode(self.request.body)
        await self.db.store("items", item_id, body)
        self.set_status(201)
        self.finish({{"ok": True}})


def helper_{n}(values, scale=2):
    total = 0
    for v in values:
        if v % 3 == 0:
            total += v * scale
        else:
            total -= v
    return total
'''

SEEDS = [
    ("keyword", 'def make_app():\n    return tornado.web.Application(ROUTES, debug=True)\n'),
    ("settings dict", 'SETTINGS = {"debug": True, "xsrf_cookies": True}\n\n\ndef make_app():\n    return tornado.web.Application(ROUTES, **SETTINGS)\n'),
    ("dict+update", 'def make_app():\n    settings = dict(xsrf_cookies=True)\n    settings.update(debug=True)\n    return tornado.web.Application(ROUTES, **settings)\n'),
    ("env default", 'def make_app():\n    return tornado.web.Application(ROUTES, debug=os.environ.get("DEBUG", "1"))\n'),
    ("option default", 'define("debug_{n}", default=True, type=bool)\n\n\ndef make_app():\n    return tornado.web.Application(ROUTES, debug=options.debug_{n})\n'),
]

CLEAN = 'def make_app():\n    return tornado.web.Application(ROUTES, debug=False, xsrf_cookies=True)\n'


def main():
    target, out = int(sys.argv[1]), sys.argv[2]
    lines = 0
    module = 0
    seeded = 0
    while lines < target:
        pkg = os.path.join(out, f"svc{module // 50}")
        os.makedirs(pkg, exist_ok=True)
        init = os.path.join(pkg, "__init__.py")
        if not os.path.exists(init):
            open(init, "w").close()
        parts = [
            "import os\n\nimport tornado.escape\nimport tornado.web\n"
            "from tornado.options import define, options\n"
        ]
        for h in range(3):
            parts.append(HANDLER.format(n=h))
        parts.append(f'\nROUTES = [(r"/items/(\\d+)", Handler0, dict(db=None))]\n\n\n')
        if module % 25 == 0:
            _, code = SEEDS[seeded % len(SEEDS)]
            parts.append(code.replace("{n}", str(module)))
            seeded += 1
        else:
            parts.append(CLEAN)
        text = "".join(parts)
        with open(os.path.join(pkg, f"mod{module}.py"), "w") as f:
            f.write(text)
        lines += text.count("\n")
        module += 1
    print(seeded)


if __name__ == "__main__":
    main()
