#!/usr/bin/python3
"""A webhook, WeCom-robot and DingTalk-robot receiver for energyd's delivery tests (standard library only).

Checks what each endpoint's documentation requires and records every message it accepted, one JSON object per
line in --log, before it answers (so a message answered late or never still counts as received):

  POST /webhook            X-Energy-Signature = sha256=HMAC-SHA256(secret, X-Energy-Timestamp + "." + body),
                           timestamp within 5 minutes, Idempotency-Key present, JSON with message_id and alerts.
  POST /upstream          energyd's upstream figures (docs/UPSTREAM.md): the same signature, X-Energy-Site equal to
                           the body's site.id, format "energy-monitor-v1", batches each with type, enterprise and
                           period_start.
  POST /wecom?key=K        {"msgtype": "text", "text": {"content": "..."}} -> {"errcode": 0, "errmsg": "ok"}
  POST /dingtalk?access_token=T&timestamp=MS&sign=S
                           S = Base64(HMAC-SHA256(secret, MS + "\\n" + secret)), MS within an hour; text as WeCom's.

Faults: --fail N answers the first N requests with --fail-status (500) without recording them; --errcode N
answers the first N robot requests with errcode 45009 (rate limited); --hang N records the first N messages and
then answers only after --hang-s seconds. Prints "listening PORT" once it accepts connections.
"""
import argparse, base64, hashlib, hmac, json, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

parser = argparse.ArgumentParser()
parser.add_argument("--log", required=True)
parser.add_argument("--secret", default="")
parser.add_argument("--dingtalk-secret", default="")
parser.add_argument("--wecom-key", default="wecom-key")
parser.add_argument("--fail", type=int, default=0)
parser.add_argument("--fail-status", type=int, default=500)
parser.add_argument("--errcode", type=int, default=0)
parser.add_argument("--hang", type=int, default=0)
parser.add_argument("--hang-s", type=float, default=30)
parser.add_argument("--cert")
parser.add_argument("--key")
parser.add_argument("--port", type=int, default=0)
args = parser.parse_args()

lock = threading.Lock()
counters = {"requests": 0, "robot": 0, "recorded": 0}


def take(name):
    with lock:
        counters[name] += 1
        return counters[name]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *_):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def record(self, endpoint, message_id, payload):
        with lock:
            with open(args.log, "a", encoding="utf-8") as log:
                log.write(json.dumps({"endpoint": endpoint, "id": message_id, "payload": payload}, ensure_ascii=False) + "\n")
            counters["recorded"] += 1
            return counters["recorded"]

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if take("requests") <= args.fail:
            return self.answer(args.fail_status, {"error": "scripted failure"})
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        try:
            payload = json.loads(body)
        except ValueError:
            return self.answer(400, {"error": "body is not JSON"})
        if url.path == "/webhook":
            stamp = self.headers.get("X-Energy-Timestamp", "")
            expected = "sha256=" + hmac.new(args.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, self.headers.get("X-Energy-Signature", "")):
                return self.answer(401, {"error": "bad signature"})
            if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
                return self.answer(401, {"error": "stale timestamp"})
            key = self.headers.get("Idempotency-Key")
            if not key or payload.get("message_id") != key or not isinstance(payload.get("alerts"), list):
                return self.answer(400, {"error": "missing message_id, Idempotency-Key or alerts"})
            self.finish_recorded("webhook", key, payload, robot=False)
        elif url.path == "/upstream":
            stamp = self.headers.get("X-Energy-Timestamp", "")
            expected = "sha256=" + hmac.new(args.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, self.headers.get("X-Energy-Signature", "")):
                return self.answer(401, {"error": "bad signature"})
            batches = payload.get("batches")
            if payload.get("format") != "energy-monitor-v1" or not isinstance(batches, list):
                return self.answer(400, {"error": "not an energy-monitor-v1 shipment"})
            if payload.get("site", {}).get("id") != self.headers.get("X-Energy-Site"):
                return self.answer(400, {"error": "X-Energy-Site differs from the body's site"})
            if not all(isinstance(b, dict) and b.get("type") and b.get("enterprise") and b.get("period_start") for b in batches):
                return self.answer(400, {"error": "a batch lacks its type, enterprise or period_start"})
            self.finish_recorded("upstream", self.headers.get("Idempotency-Key"), payload, robot=False)
        elif url.path in ("/wecom", "/dingtalk"):
            text = payload.get("text", {}).get("content") if isinstance(payload.get("text"), dict) else None
            if payload.get("msgtype") != "text" or not isinstance(text, str) or not text or len(text.encode()) > 4096:
                return self.answer(200, {"errcode": 40008, "errmsg": "invalid message type"})
            if url.path == "/wecom" and query.get("key") != args.wecom_key:
                return self.answer(200, {"errcode": 93000, "errmsg": "invalid webhook url"})
            if url.path == "/dingtalk":
                stamp = query.get("timestamp", "")
                sign = base64.b64encode(
                    hmac.new(args.dingtalk_secret.encode(), f"{stamp}\n{args.dingtalk_secret}".encode(), hashlib.sha256).digest()
                ).decode()
                if query.get("sign") != sign or not stamp.isdigit() or abs(time.time() * 1000 - int(stamp)) > 3600_000:
                    return self.answer(200, {"errcode": 310000, "errmsg": "sign not match"})
            if take("robot") <= args.errcode:
                return self.answer(200, {"errcode": 45009, "errmsg": "api freq out of limit"})
            self.finish_recorded(url.path[1:], None, payload, robot=True)
        else:
            self.answer(404, {"error": "no such endpoint"})

    def finish_recorded(self, endpoint, message_id, payload, robot):
        if self.record(endpoint, message_id, payload) <= args.hang:
            time.sleep(args.hang_s)
        self.answer(200, {"errcode": 0, "errmsg": "ok"} if robot else {"ok": True})


server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
if args.cert:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
print("listening", server.server_address[1], flush=True)
server.serve_forever()
