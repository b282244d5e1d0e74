"""A small Tornado service used to demonstrate stormwatch."""

import os

import tornado.ioloop
import tornado.web
from tornado.options import define, options, parse_command_line

define("port", default=8888, help="port to listen on", type=int)
define("debug", default=False, help="run in debug mode", type=bool)


class MainHandler(tornado.web.RequestHandler):
    def get(self):
        self.write({"status": "ok"})


def make_app():
    settings = {
        "debug": options.debug,
        "cookie_secret": os.environ.get("COOKIE_SECRET", ""),
        "xsrf_cookies": True,
    }
    return tornado.web.Application([(r"/", MainHandler)], **settings)


if __name__ == "__main__":
    parse_command_line()
    make_app().listen(options.port)
    tornado.ioloop.IOLoop.current().start()
