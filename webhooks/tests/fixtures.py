"""The webhook tests' stand-in receiver (registered in the root conftest.py): a real HTTP server
on 127.0.0.1 in a thread, answering what the test scripts and recording every request.

    receiver.script(503, 503, 200)        # the next answers, then 200 for the rest
    endpoint = endpoint_for(receiver, "order.paid")
    ...
    receiver.requests[0].headers["Emporium-Event-Id"]
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from webhooks.models import Endpoint

SECRET = "whsec_test-secret-0123456789"


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: str = "ok"
    delay: float = 0.0


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._answers: deque[Answer] = deque()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def script(self, *answers: int | Answer) -> None:
        with self._lock:
            self._answers.extend(a if isinstance(a, Answer) else Answer(a) for a in answers)

    def _next(self) -> Answer:
        with self._lock:
            return self._answers.popleft() if self._answers else Answer()

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = receiver._next()
                with receiver._lock:
                    receiver.requests.append(Received(self.path, dict(self.headers), body))
                if answer.delay:
                    time.sleep(answer.delay)
                payload = answer.body.encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up (a timeout test)
                    pass

            def log_message(self, *args) -> None:
                pass

        return Handler


@pytest.fixture
def receiver(settings):
    """A local receiver, with http and private addresses allowed (it is on 127.0.0.1)."""
    settings.WEBHOOKS_ALLOW_HTTP = True
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    stand_in = Receiver()
    stand_in.thread.start()
    yield stand_in
    stand_in.server.shutdown()
    stand_in.server.server_close()


def endpoint_for(receiver: Receiver, *events: str, **fields) -> Endpoint:
    """An active endpoint at the receiver for these event types, signed with SECRET."""
    return Endpoint.objects.create(url=receiver.url, events=list(events), secret=SECRET, **fields)


@pytest.fixture(name="endpoint_for")
def endpoint_for_fixture():
    return endpoint_for
