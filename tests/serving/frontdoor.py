"""A small stand-in for the SageMaker runtime front door, for client tests.

It answers boto3 ``sagemaker-runtime`` ``invoke_endpoint`` calls (``POST
/endpoints/<name>/invocations``) by forwarding to a container's ``/invocations`` and, as
SageMaker does, turns a container error into a 424 ``ModelError`` whose ``OriginalStatusCode``
and ``OriginalMessage`` carry the container's answer.  It can throttle the first N calls.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

FORWARDED = ("Content-Type", "Accept", "X-Amzn-SageMaker-Custom-Attributes")
LOG_STREAM_ARN = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/x"
PATH = re.compile(r"^/endpoints/(?P<name>[^/]+)/invocations$")


class FrontDoor:
    """Serve on a free loopback port in a thread; ``endpoints`` maps endpoint names to container URLs."""

    def __init__(self, endpoints: dict[str, str], throttle_first: int = 0):
        self.endpoints = endpoints
        self.throttle_remaining = throttle_first
        self.calls: list[str] = []
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FrontDoor:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def take_throttle(self) -> bool:
        """True (and count down) while calls are still to be throttled."""
        with self._lock:
            if self.throttle_remaining > 0:
                self.throttle_remaining -= 1
                return True
            return False

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        door = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # quiet test output
                pass

            def send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def send_error_shape(self, status: int, error_type: str, fields: dict) -> None:
                body = json.dumps(fields).encode()
                self.send(status, body, {"Content-Type": "application/json", "x-amzn-ErrorType": error_type})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                match = PATH.match(self.path)
                door.calls.append(self.path)
                if not match or match["name"] not in door.endpoints:
                    name = match["name"] if match else self.path
                    self.send_error_shape(400, "ValidationError", {"Message": f"Endpoint {name} not found."})
                    return
                if door.take_throttle():
                    self.send_error_shape(400, "ThrottlingException", {"message": "Rate exceeded"})
                    return
                headers = {k: v for k in FORWARDED if (v := self.headers.get(k)) is not None}
                upstream = requests.post(
                    f"{door.endpoints[match['name']]}/invocations", data=body, headers=headers, timeout=60
                )
                if upstream.status_code >= 400:
                    text = upstream.text
                    self.send_error_shape(
                        424,
                        "ModelError",
                        {
                            "Message": f"Received client error ({upstream.status_code}) from primary with "
                            f'message "{text}". See the CloudWatch log stream for more information.',
                            "OriginalStatusCode": upstream.status_code,
                            "OriginalMessage": text,
                            "LogStreamArn": LOG_STREAM_ARN,
                        },
                    )
                    return
                reply = {"Content-Type": upstream.headers.get("Content-Type", "application/octet-stream")}
                reply["x-Amzn-Invoked-Production-Variant"] = "AllTraffic"
                if "X-Amzn-SageMaker-Custom-Attributes" in upstream.headers:
                    reply["X-Amzn-SageMaker-Custom-Attributes"] = upstream.headers[
                        "X-Amzn-SageMaker-Custom-Attributes"
                    ]
                self.send(200, upstream.content, reply)

        return Handler
