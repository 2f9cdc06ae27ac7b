"""Flask's built-in development server, threaded, one process: `app.run()` as a first deploy
would call it, with the per-request log line turned off like every other server's access log.

    python -m servers.flask.dev --host 127.0.0.1 --port 8000
"""

import argparse
import logging

from servers.flask.app import app

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # its access log is INFO
    app.run(host=args.host, port=args.port, threaded=True, debug=False, use_reloader=False)
