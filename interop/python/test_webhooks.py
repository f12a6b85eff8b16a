"""Tessera's webhook deliveries against `standardwebhooks`, the Standard Webhooks reference
library for Python.

Tessera signs its deliveries itself (`webhook-id`, `webhook-timestamp`, `webhook-signature`
with HMAC-SHA256 over `id.timestamp.body`); its own tests check the signature with its own
code, which would agree with a mistake it shares. Here a receiver verifies every delivery
with an independent implementation, `standardwebhooks.webhooks.Webhook(secret).verify`, the
way a subscriber would, and checks that the body is the CloudEvents 1.0 document Tessera
documents. It also checks that the library refuses a tampered body and a wrong secret, so
that a verification that accepts anything cannot pass for one that works.

The receiver is a real HTTP server in this process (stdlib `ThreadingHTTPServer` on a free
loopback port); Tessera reaches it because the runner starts it with
`TESSERA_WEBHOOKS__ALLOW_PRIVATE_TARGETS=true`. The webhook and the user are made through the
Core API with the runner's token (`INTEROP_CORE_URL`, `INTEROP_CORE_TOKEN`; see
`interop/provision.py`).
"""

import base64
import json
import os
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

ISSUER = os.environ["INTEROP_ISSUER"]
CORE_URL = os.environ["INTEROP_CORE_URL"]
CORE_TOKEN = os.environ["INTEROP_CORE_TOKEN"]

TIMEOUT = 10
# The delivery worker polls each second; a generous bound for a loaded machine.
DELIVERY_WAIT_SECONDS = 15
USER_AGENT = "tessera-interop-webhooks/1"


# ---------------------------------------------------------------------------------------------
# The receiver
# ---------------------------------------------------------------------------------------------


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that records every request (path, headers, raw body)
    and answers 204, which Standard Webhooks counts as accepted."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver.lock:
                    receiver.requests.append(
                        {"method": "POST", "path": self.path, "headers": headers, "body": body}
                    )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass  # keep pytest's output to the failures

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks/tessera"

    def start(self):
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def wait_for(self, predicate, describe):
        """The first recorded request for which `predicate(request)` holds, waiting for it
        up to DELIVERY_WAIT_SECONDS; `describe()` explains a timeout."""
        deadline = time.monotonic() + DELIVERY_WAIT_SECONDS
        while True:
            with self.lock:
                seen = list(self.requests)
            for request in seen:
                if predicate(request):
                    return request
            if time.monotonic() > deadline:
                pytest.fail(
                    f"no matching delivery within {DELIVERY_WAIT_SECONDS}s; received "
                    f"{[(r['headers'].get('webhook-id'), r['body'][:200]) for r in seen]}; "
                    f"{describe()}"
                )
            time.sleep(0.2)


def body_json(request):
    try:
        return json.loads(request["body"])
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# The Core API
# ---------------------------------------------------------------------------------------------


def core(method, path, **kwargs):
    headers = {"Authorization": f"Bearer {CORE_TOKEN}", "User-Agent": USER_AGENT}
    return requests.request(method, f"{CORE_URL}{path}", headers=headers, timeout=TIMEOUT, **kwargs)


def deliveries_of(webhook_id):
    """The webhook's deliveries as the Core API reports them, for failure messages."""
    response = core("GET", f"/webhooks/{webhook_id}/deliveries")
    return f"GET deliveries -> {response.status_code} {response.text}"


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def receiver():
    receiver = Receiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def webhook(receiver):
    """A `user.*` webhook pointing at the receiver, with its secret (shown only at creation);
    deleted at the end of the module."""
    response = core("POST", "/webhooks", json={"url": receiver.url, "event_types": ["user.*"]})
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"].startswith("whk_"), created
    assert created["secret"].startswith("whsec_"), created
    assert created["url"] == receiver.url
    assert created["event_types"] == ["user.*"]
    yield created
    response = core("DELETE", f"/webhooks/{created['id']}")
    assert response.status_code == 204, (response.status_code, response.text)


@pytest.fixture(scope="module")
def user_created(receiver, webhook):
    """Creates a user and returns (the user as created, the `user.created` delivery)."""
    email = f"webhooks-{secrets.token_hex(4)}@example.com"
    response = core("POST", "/users", json={"email": email})
    assert response.status_code == 201, response.text
    user = response.json()
    delivery = receiver.wait_for(
        lambda r: (body_json(r) or {}).get("type") == "user.created"
        and (body_json(r) or {}).get("subject") == user["id"],
        lambda: deliveries_of(webhook["id"]),
    )
    return user, delivery


def wrong_secret():
    """A well-formed Standard Webhooks secret that is not the webhook's."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


def test_user_created_delivery_verifies_with_standardwebhooks(webhook, user_created):
    user, delivery = user_created
    headers, body = delivery["headers"], delivery["body"]
    assert delivery["path"] == "/hooks/tessera"
    # CloudEvents HTTP binding §3.2: structured mode.
    assert headers["content-type"].startswith("application/cloudevents+json"), headers
    assert headers["webhook-signature"].startswith("v1,"), headers

    event = Webhook(webhook["secret"]).verify(body, headers)

    assert event["specversion"] == "1.0"
    assert event["type"] == "user.created"
    assert event["id"] == headers["webhook-id"]
    assert event["id"].startswith("evt_"), event
    assert event["subject"] == user["id"]
    assert event["source"].endswith("/default"), event
    assert event["source"] == ISSUER
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", event["time"]), event
    assert event["datacontenttype"] == "application/json"
    assert "data" in event
    # The extension attributes: who did it, and (the event came from a request) from where.
    assert event["actor"].startswith("client:"), event
    assert event["useragent"] == USER_AGENT
    assert event["clientip"] and event["requestid"], event


def test_delivery_is_recorded_as_delivered(webhook, user_created):
    _, delivery = user_created
    event_id = delivery["headers"]["webhook-id"]
    # The worker records the 204 just after the receiver answers; allow it a moment.
    deadline = time.monotonic() + DELIVERY_WAIT_SECONDS
    while True:
        response = core("GET", f"/webhooks/{webhook['id']}/deliveries")
        assert response.status_code == 200, response.text
        items = [d for d in response.json()["items"] if d["event_id"] == event_id]
        if items and items[0]["state"] == "delivered":
            break
        assert time.monotonic() < deadline, response.text
        time.sleep(0.2)


def test_tampered_body_fails_verification(webhook, user_created):
    _, delivery = user_created
    event = json.loads(delivery["body"])
    event["subject"] = "usr_someoneelse"
    tampered = json.dumps(event).encode()
    assert tampered != delivery["body"]
    with pytest.raises(WebhookVerificationError):
        Webhook(webhook["secret"]).verify(tampered, delivery["headers"])
    # One byte appended is enough too.
    with pytest.raises(WebhookVerificationError):
        Webhook(webhook["secret"]).verify(delivery["body"] + b" ", delivery["headers"])


def test_wrong_secret_fails_verification(user_created):
    _, delivery = user_created
    with pytest.raises(WebhookVerificationError):
        Webhook(wrong_secret()).verify(delivery["body"], delivery["headers"])


def test_ping_delivery_verifies_with_standardwebhooks(receiver, webhook):
    response = core("POST", f"/webhooks/{webhook['id']}/ping")
    assert response.status_code == 202, response.text
    queued = response.json()
    event_id = queued["event_id"]
    assert event_id and event_id.startswith("evt_"), queued
    delivery = receiver.wait_for(
        lambda r: r["headers"].get("webhook-id") == event_id,
        lambda: deliveries_of(webhook["id"]),
    )

    event = Webhook(webhook["secret"]).verify(delivery["body"], delivery["headers"])

    assert event["specversion"] == "1.0"
    assert event["type"] == "webhook.ping"
    assert event["id"] == event_id
    assert event["source"] == ISSUER
    with pytest.raises(WebhookVerificationError):
        Webhook(wrong_secret()).verify(delivery["body"], delivery["headers"])
