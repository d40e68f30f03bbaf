"""Container healthcheck: GET a local URL with a Host header Django accepts.

    python compose/healthcheck.py http://127.0.0.1:8000/healthz

Django refuses Host headers outside ALLOWED_HOSTS (400), and a probe from inside the container would
say `127.0.0.1`; the first ALLOWED_HOSTS entry is used instead. Exit 0 on HTTP 200, 1 otherwise."""

import os
import sys
import urllib.request


def main() -> int:
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/healthz"
    host = (os.environ.get("ALLOWED_HOSTS") or "localhost").split(",")[0].strip().lstrip(".") or "localhost"
    request = urllib.request.Request(url, headers={"Host": host, "X-Forwarded-Proto": "https"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=3) as response:  # noqa: S310 - fixed local URL
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
