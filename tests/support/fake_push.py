#!/usr/bin/env python3
"""A Web Push service for the tests: the push service side of RFC 8030 plus what a phone does
with a message, with implementations independent of cardbridge's own:

- it hands out subscriptions (a push resource, a P-256 key pair and an auth secret, made with
  `cryptography`), as a phone's push service and the phone would;
- it receives each Web Push request, verifies its VAPID token (RFC 8292) with `py_vapid`
  against the key the request names, checks the claims (aud = this service's origin, exp in
  the future and at most 24 h away, sub set), decrypts the body (RFC 8291 aes128gcm) with
  `http_ece` and the subscription's private key, and validates the message against the
  draft's RelaxNG schema (tests/fixtures/webdav-push, with `lxml`);
- it records what it received for the test to read, and answers 201, or 410 once a
  subscription is told to go away.

Protocol for the test (JSON): POST /subscriptions, POST /subscriptions/ID/gone,
POST /subscriptions/ID/fail/N (the next N pushes are answered 503), GET /subscriptions/ID/messages.
The first line on stdout is "PORT n".
"""

import base64
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    import http_ece
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from lxml import etree
    from py_vapid import jwt as vapid_jwt
except ImportError as missing:
    print(
        f"MISSING python module {missing.name}: run scripts/setup.sh "
        "(pip install http-ece cryptography py-vapid lxml)",
        flush=True,
    )
    sys.exit(3)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


SCHEMA = etree.RelaxNG(
    etree.parse(
        os.path.join(
            os.path.dirname(os.path.abspath(__file__)),
            "..", "fixtures", "webdav-push", "push-message.rng",
        )
    )
)

LOCK = threading.Lock()
# id -> {"key": private key, "auth": bytes, "gone": bool, "failing": int, "messages": []}
SUBSCRIPTIONS = {}


def check_vapid(authorization, origin):
    """The VAPID claims, or raises with what is wrong."""
    scheme, _, params = (authorization or "").partition(" ")
    if scheme.lower() != "vapid":
        raise ValueError(f"Authorization is not vapid: {authorization!r}")
    fields = dict(
        part.strip().split("=", 1) for part in params.split(",") if "=" in part
    )
    token, key = fields.get("t"), fields.get("k")
    if not token or not key:
        raise ValueError("vapid needs t= and k=")
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    if header.get("alg") != "ES256":
        raise ValueError(f"JWT alg is {header.get('alg')!r}, not ES256")
    claims = vapid_jwt.decode(token, key)  # raises InvalidSignature
    now = time.time()
    if claims.get("aud") != origin:
        raise ValueError(f"aud {claims.get('aud')!r} is not {origin!r}")
    if not (now < claims.get("exp", 0) <= now + 24 * 3600):
        raise ValueError(f"exp {claims.get('exp')} is not within 24 h from now")
    if not claims.get("sub"):
        raise ValueError("sub is missing")
    return key, claims


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "subscriptions" and parts[2] == "messages":
            with LOCK:
                sub = SUBSCRIPTIONS.get(parts[1])
                messages = list(sub["messages"]) if sub else None
            if messages is None:
                return self.reply(404)
            return self.reply(200, json.dumps(messages).encode())
        self.reply(404)

    def do_POST(self):
        parts = self.path.strip("/").split("/")
        body = self.body()
        if parts == ["subscriptions"]:
            return self.subscribe()
        if len(parts) == 3 and parts[0] == "subscriptions" and parts[2] == "gone":
            with LOCK:
                SUBSCRIPTIONS[parts[1]]["gone"] = True
            return self.reply(204)
        if len(parts) == 4 and parts[0] == "subscriptions" and parts[2] == "fail":
            with LOCK:
                SUBSCRIPTIONS[parts[1]]["failing"] = int(parts[3])
            return self.reply(204)
        if len(parts) == 2 and parts[0] == "push":
            return self.push(parts[1], body)
        self.reply(404)

    def subscribe(self):
        key = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        sub_id = b64url(os.urandom(9))
        public = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        with LOCK:
            SUBSCRIPTIONS[sub_id] = {
                "key": key, "auth": auth, "gone": False, "failing": 0, "messages": []
            }
        port = self.server.server_address[1]
        self.reply(
            201,
            json.dumps(
                {
                    "id": sub_id,
                    "push_resource": f"http://127.0.0.1:{port}/push/{sub_id}",
                    "public_key": b64url(public),
                    "auth": b64url(auth),
                }
            ).encode(),
        )

    def push(self, sub_id, body):
        with LOCK:
            sub = SUBSCRIPTIONS.get(sub_id)
        if sub is None:
            return self.reply(404)
        with LOCK:
            refusal = 410 if sub["gone"] else 503 if sub["failing"] > 0 else None
            if refusal == 503:
                sub["failing"] -= 1
            if refusal:
                sub["messages"].append({"answered": refusal})
        if refusal:
            return self.reply(refusal)
        origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        record = {
            "answered": 201,
            "received_at": time.time(),
            "ttl": self.headers.get("TTL"),
            "urgency": self.headers.get("Urgency"),
            "topic": self.headers.get("Topic"),
            "content_encoding": self.headers.get("Content-Encoding"),
            "content_type": self.headers.get("Content-Type"),
            "error": None,
        }
        try:
            record["vapid_key"], record["claims"] = check_vapid(
                self.headers.get("Authorization"), origin
            )
            if record["content_encoding"] != "aes128gcm":
                raise ValueError(f"Content-Encoding {record['content_encoding']!r}")
            if not (record["ttl"] or "").isdigit():
                raise ValueError(f"TTL {record['ttl']!r}")
            plain = http_ece.decrypt(
                body, private_key=sub["key"], auth_secret=sub["auth"], version="aes128gcm"
            )
            record["payload"] = plain.decode("utf-8")
            if not SCHEMA.validate(etree.fromstring(plain)):
                raise ValueError(f"not a push-message of the draft: {SCHEMA.error_log}")
        except Exception as error:  # recorded for the test, which fails on it
            record["error"] = f"{type(error).__name__}: {error}"
            record["answered"] = 400
        with LOCK:
            sub["messages"].append(record)
        self.reply(record["answered"])


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
