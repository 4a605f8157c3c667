#!/usr/bin/python3
"""A real SMTP server (aiosmtpd, Debian's python3-aiosmtpd) for energyd's e-mail tests.

--security starttls: plain connection that must be upgraded with STARTTLS before AUTH and mail; --security tls:
TLS from the first byte. Authentication is required (--user/--password). Every message received is parsed with
Python's email package and recorded as one JSON line in --log: message id, sender, recipients, decoded subject,
the plain-text body and each attachment's file name and bytes (Base64). Prints "listening PORT" once ready.
"""
import argparse, base64, json, socket, ssl, sys, time
from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

parser = argparse.ArgumentParser()
parser.add_argument("--log", required=True)
parser.add_argument("--security", choices=["starttls", "tls"], required=True)
parser.add_argument("--cert", required=True)
parser.add_argument("--key", required=True)
parser.add_argument("--user", default="energyd")
parser.add_argument("--password", default="secret")
args = parser.parse_args()


class Recorder:
    async def handle_DATA(self, server, session, envelope):
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        body = message.get_body(preferencelist=("plain",))
        # name: Content-Disposition's filename; type_name: Content-Type's name, as a reader decodes it (RFC 2231).
        attachments = [
            {
                "name": part.get_filename(),
                "type_name": part.get_param("name", header="content-type"),
                "data": base64.b64encode(part.get_payload(decode=True)).decode(),
            }
            for part in message.iter_attachments()
        ]
        raw_text = body.get_payload(decode=True) if body else b""
        record = {
            "message_id": message["Message-ID"],
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": str(message["Subject"]),
            "text": body.get_content() if body else None,
            "charset": body.get_content_charset() if body else None,
            # MIME text is CRLF-delimited: a bare LF in the decoded part is a defect.
            "bare_lf": b"\n" in raw_text.replace(b"\r\n", b""),
            "attachments": attachments,
        }
        with open(args.log, "a", encoding="utf-8") as log:
            log.write(json.dumps(record, ensure_ascii=False) + "\n")
        return "250 OK"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == args.user and auth_data.password.decode() == args.password
    return AuthResult(success=ok)


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(args.cert, args.key)
probe = socket.socket()
probe.bind(("127.0.0.1", 0))
port = probe.getsockname()[1]
probe.close()
options = dict(authenticator=authenticate, auth_required=True, auth_require_tls=True)
if args.security == "starttls":
    controller = Controller(Recorder(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True, **options)
else:
    # Every byte is TLS here, but aiosmtpd 1.4 only counts STARTTLS as encryption for auth_require_tls.
    options["auth_require_tls"] = False
    controller = Controller(Recorder(), hostname="127.0.0.1", port=port, ssl_context=context, **options)
controller.start()
print("listening", port, flush=True)
while True:
    time.sleep(3600)
