#!/usr/bin/env python3
"""hello.py - the hello example (examples/hello/host.c) in Python.

Usage: hello.py [GUEST.elf] [NAME]

Opens the hello guest (default: build/examples/hello/hello-guest.elf of this
checkout), registers the host function GetWeekday() -> string, calls
SayHello(NAME) and prints the result.  A glint failure prints glint's
one-line message and exits 1.
"""

import datetime
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
# Use the package from this checkout unless glint is installed.
try:
    import glint
except ImportError:
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import glint


def main(argv):
    guest = argv[1] if len(argv) > 1 else os.path.join(ROOT, "build", "examples", "hello",
                                                       "hello-guest.elf")
    name = argv[2] if len(argv) > 2 else "World"
    try:
        with glint.Sandbox.from_file(guest, timeout=1.0) as sb:

            @sb.host("GetWeekday", returns=str)
            def get_weekday():
                """GetWeekday() -> string: today's weekday in local time."""
                return datetime.date.today().strftime("%A")

            print(sb.call("SayHello", name))
    except glint.GlintError as e:
        print(f"hello: {e} ({e.status})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
