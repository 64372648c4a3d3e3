#!/usr/bin/env python3
"""cvault_client: an independent client for the cvault protocol (docs/PROTOCOL.md).

Python 3 standard library only, so it runs as `/usr/bin/python3 Tools/cvault_client.py` anywhere, under any
uid. It is both a library (`VaultClient`, `VaultRPCError`) and a small command-line tool (`--help`).

    with VaultClient() as vault:                     # $CVAULT_SOCKET, else ./cvault.sock
        tokens = vault.tokenize("email", "cust-42", ["ada@example.com"])
        items = vault.detokenize(tokens, "receipt")  # [{"value": "a***@example.com", "reveal": "masked"}]

The client is not thread-safe: use one per thread.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import sys
import unicodedata
from typing import Any, List, NamedTuple, Optional, Sequence

__all__ = [
    "VaultClient", "VaultRPCError", "VaultClientError", "VaultConnectionClosed", "VaultTimeout",
    "Notification", "DEFAULT_SOCKET",
]

DEFAULT_SOCKET = "./cvault.sock"
DEFAULT_TIMEOUT = 30.0
# A guard against a runaway peer, not a protocol limit: the largest legitimate response is about
# max_batch (1000) values of up to 64 KiB each, JSON-escaped.
DEFAULT_MAX_RESPONSE_BYTES = 512 * 1024 * 1024
_RECV_SIZE = 256 * 1024
_SEND_CHUNK = 1024 * 1024


# ---------------------------------------------------------------------------------------------------------
# Errors


class VaultRPCError(Exception):
    """The server answered with a JSON-RPC error object.

    `code` is the integer code (docs/PROTOCOL.md §8), `message` the server's message, `data` the error's
    `data` object (`{}` when absent), `id` the response's id.
    """

    def __init__(self, code: int, message: str, data: Any = None, id: Any = None):
        self.code = code
        self.message = message
        self.data = {} if data is None else data
        self.id = id
        super().__init__(f"{message} (code {code})")

    @classmethod
    def from_error(cls, error: Any, id: Any = None) -> "VaultRPCError":
        if not isinstance(error, dict):
            raise VaultClientError("malformed response: `error` is not an object")
        code = error.get("code")
        if not isinstance(code, int) or isinstance(code, bool):
            raise VaultClientError("malformed response: `error.code` is not an integer")
        message = error.get("message")
        return cls(code, message if isinstance(message, str) else "", error.get("data"), id)

    @property
    def request_id(self) -> Optional[str]:
        return self.data.get("request_id") if isinstance(self.data, dict) else None

    def __repr__(self) -> str:
        return f"VaultRPCError(code={self.code!r}, message={self.message!r}, data={self.data!r})"


class VaultClientError(Exception):
    """A problem on the client's side of the wire: cannot connect, malformed or oversized response."""


class VaultConnectionClosed(VaultClientError):
    """The server closed the connection before answering."""


class VaultTimeout(VaultClientError, TimeoutError):
    """No progress for `timeout` seconds. The connection is dropped (its state is unknown)."""


class Notification(NamedTuple):
    """A request without an id, for `pipeline` and `batch`: the server executes it and never answers."""
    method: str
    params: Any = None


# ---------------------------------------------------------------------------------------------------------
# Client


class VaultClient:
    """One lazily opened, reused connection to a cvault server.

    `path`: the socket (default `$CVAULT_SOCKET`, else `./cvault.sock`). `timeout`: seconds without progress
    before `VaultTimeout` (None waits forever). `max_response_bytes`: the longest response line accepted.

    `call`, `tokenize`, … raise `VaultRPCError` for an error response. `pipeline` and `batch` never raise
    for an error response: they return it, as a `VaultRPCError` instance, in its slot.
    """

    def __init__(self, path: Optional[str] = None, timeout: Optional[float] = DEFAULT_TIMEOUT,
                 max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES):
        self.path = path or os.environ.get("CVAULT_SOCKET") or DEFAULT_SOCKET
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self._sock: Optional[socket.socket] = None
        self._buf = bytearray()
        self._start = 0      # where unread data begins in _buf
        self._scan = 0       # where to resume looking for "\n"
        self._eof = False    # the server closed its side
        self._next_id = 1

    # -- connection ---------------------------------------------------------------------------------------

    def connect(self) -> None:
        """Opens the connection if it is not open (every method does this itself)."""
        if self._sock is not None and (self._eof or self._peer_has_closed()):
            self._drop()
        if self._sock is not None:
            return
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except socket.timeout:
            sock.close()
            raise VaultTimeout(f"connecting to {self.path} timed out") from None
        except OSError as e:
            sock.close()
            raise VaultClientError(f"cannot connect to {self.path}: {e.strerror or e}") from e
        self._sock = sock
        self._buf = bytearray()
        self._start = self._scan = 0
        self._eof = False

    def close(self) -> None:
        """Closes the connection (a later call opens a new one)."""
        self._drop()

    @property
    def connected(self) -> bool:
        return self._sock is not None and not self._eof

    def __enter__(self) -> "VaultClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def wait_closed(self, timeout: Optional[float] = None) -> bool:
        """Waits (default: `self.timeout`) for the server to close the current connection; True if it did
        (or no connection is open). Data arriving meanwhile stays buffered for the next read."""
        if self._sock is None or self._eof:
            return True
        sock = self._sock
        sock.settimeout(self.timeout if timeout is None else timeout)
        try:
            while not self._eof:
                self._recv_blocking()
            return True
        except socket.timeout:
            return False
        finally:
            if self._sock is sock:
                sock.settimeout(self.timeout)

    def _drop(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = None
        self._buf = bytearray()
        self._start = self._scan = 0
        self._eof = False

    def _peer_has_closed(self) -> bool:
        """Before reusing an idle connection: has the server closed it meanwhile? Pending bytes are kept."""
        assert self._sock is not None
        # Non-blocking for the peek itself: on a socket with a timeout, Python first waits up to that timeout
        # for the socket to become readable, whatever the flags, so an idle connection cost a whole timeout
        # and was then dropped as if closed.
        self._sock.setblocking(False)
        try:
            while True:
                chunk = self._sock.recv(_RECV_SIZE)
                if not chunk:
                    return True
                self._append(chunk)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True
        finally:
            self._sock.settimeout(self.timeout)

    # -- bytes on the wire --------------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        """Sends everything, reading whatever the server answers meanwhile into the buffer (so a long
        pipeline cannot deadlock against a server that waits for its answers to be read). If the server
        closes its side (e.g. after a too-large line), sending stops quietly: the answer is read next."""
        assert self._sock is not None
        sock = self._sock
        view = memoryview(data)
        if not view:
            return
        sel = selectors.DefaultSelector()
        sock.setblocking(False)
        try:
            sel.register(sock, selectors.EVENT_WRITE | (0 if self._eof else selectors.EVENT_READ))
            while view:
                events = sel.select(self.timeout)
                if not events:
                    self._drop()
                    raise VaultTimeout(f"sending to {self.path} timed out after {self.timeout} s")
                for _, mask in events:
                    if mask & selectors.EVENT_READ:
                        self._recv_nonblocking()
                        if self._eof:
                            sel.modify(sock, selectors.EVENT_WRITE)
                    if mask & selectors.EVENT_WRITE:
                        try:
                            sent = sock.send(view[:_SEND_CHUNK])
                        except (BlockingIOError, InterruptedError):
                            continue
                        except (BrokenPipeError, ConnectionResetError):
                            return      # the server stopped reading; its answer (if any) is read next
                        view = view[sent:]
        finally:
            sel.close()
            if self._sock is sock:
                sock.settimeout(self.timeout)

    def _append(self, chunk: bytes) -> None:
        if self._start and self._start >= len(self._buf) // 2:
            del self._buf[:self._start]
            self._scan -= self._start
            self._start = 0
        self._buf += chunk

    def _recv_nonblocking(self) -> None:
        assert self._sock is not None
        try:
            chunk = self._sock.recv(_RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except ConnectionResetError:
            chunk = b""
        if chunk:
            self._append(chunk)
        else:
            self._eof = True

    def _recv_blocking(self) -> None:
        assert self._sock is not None
        try:
            chunk = self._sock.recv(_RECV_SIZE)
        except ConnectionResetError:
            chunk = b""
        if chunk:
            self._append(chunk)
        else:
            self._eof = True

    def _read_line(self) -> Optional[bytes]:
        """The next line without its `\\n` (and `\\r`), or None if the server closed with nothing pending."""
        while True:
            i = self._buf.find(b"\n", max(self._scan, self._start))
            if i >= 0:
                line = bytes(self._buf[self._start:i])
                self._start = self._scan = i + 1
                if self._start == len(self._buf):
                    self._buf = bytearray()
                    self._start = self._scan = 0
                return line[:-1] if line.endswith(b"\r") else line
            self._scan = len(self._buf)
            if self._scan - self._start > self.max_response_bytes:
                self._drop()
                raise VaultClientError(f"response line longer than {self.max_response_bytes} bytes")
            if self._eof or self._sock is None:
                if self._scan > self._start:     # an unterminated last line
                    line = bytes(self._buf[self._start:])
                    self._buf = bytearray()
                    self._start = self._scan = 0
                    return line
                return None
            try:
                self._recv_blocking()
            except socket.timeout:
                self._drop()
                raise VaultTimeout(f"no response from {self.path} within {self.timeout} s") from None

    def _read_response(self) -> Any:
        while True:
            line = self._read_line()
            if line is None:
                self._drop()
                raise VaultConnectionClosed("the server closed the connection without answering")
            if line.strip(b" \t"):
                return _parse(line)

    # -- JSON-RPC -----------------------------------------------------------------------------------------

    def _request(self, method: str, params: Any, notify: bool = False) -> dict:
        request: dict = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            request["params"] = params
        if not notify:
            request["id"] = self._next_id
            self._next_id += 1
        return request

    def call(self, method: str, params: Any = None) -> Any:
        """Sends one request and returns its `result`; raises `VaultRPCError` for an error response."""
        request = self._request(method, params)
        line = _encode(request)
        self.connect()
        self._send(line)
        outcome = _outcome(self._read_response(), request["id"])
        if isinstance(outcome, VaultRPCError):
            raise outcome
        return outcome

    def notify(self, method: str, params: Any = None) -> None:
        """Sends a notification (no id): executed by the server, never answered."""
        line = _encode(self._request(method, params, notify=True))
        self.connect()
        self._send(line)

    def pipeline(self, calls: Sequence[Any]) -> List[Any]:
        """Sends every request (`(method, params)` tuples, or `Notification`s) as its own line before
        reading any answer, then reads the answers. Returns one entry per call, in order: the result, a
        `VaultRPCError` for an error response, or None for a notification."""
        requests = [self._request(n.method, n.params, notify=True) if isinstance(n, Notification)
                    else self._request(*_method_params(n)) for n in calls]
        data = b"".join(_encode(r) for r in requests)
        self.connect()
        self._send(data)
        return [None if "id" not in r else _outcome(self._read_response(), r["id"]) for r in requests]

    def batch(self, calls: Sequence[Any]) -> List[Any]:
        """Sends one JSON-RPC batch (one line holding an array). Returns one entry per call, like
        `pipeline`. Raises `VaultRPCError` when the server answers the batch as a whole with one error
        (an empty batch, a batch over max_batch, an unknown identity, a too-large line)."""
        requests = [self._request(n.method, n.params, notify=True) if isinstance(n, Notification)
                    else self._request(*_method_params(n)) for n in calls]
        self.connect()
        self._send(_encode(requests))
        if requests and all("id" not in r for r in requests):
            return [None] * len(requests)
        response = self._read_response()
        if isinstance(response, dict):
            raise VaultRPCError.from_error(response.get("error"), response.get("id"))
        if not isinstance(response, list):
            raise VaultClientError("malformed response: a batch answer is not an array")
        by_id = {}
        for entry in response:
            if isinstance(entry, dict) and _is_id(entry.get("id")):
                by_id[entry["id"]] = entry
        answers = iter(response)
        results: List[Any] = []
        for r in requests:
            if "id" not in r:
                results.append(None)
                continue
            entry = by_id.get(r["id"])
            if entry is None:          # not matched by id (e.g. id null): take the next by position
                entry = next(answers, None)
                if entry is None:
                    raise VaultClientError("malformed response: the batch answer has too few entries")
            results.append(_outcome(entry, r["id"]))
        return results

    def raw(self, line: Any, newline: bool = True, expect_response: bool = True,
            parse: bool = True) -> Any:
        """For tests: sends `line` (bytes or str) exactly, adding a `\\n` unless it ends with one (or
        `newline` is False), and returns the next response line parsed as JSON (`parse=False`: as bytes
        without its terminator). Returns None if the server closed the connection without answering, or
        without reading when `expect_response` is False."""
        data = line.encode("utf-8") if isinstance(line, str) else bytes(line)
        if newline and not data.endswith(b"\n"):
            data += b"\n"
        self.connect()
        self._send(data)
        if not expect_response:
            return None
        answer = self._read_line()
        if answer is None:
            self._drop()
            return None
        return _parse(answer) if parse else answer

    def raw_session(self, data: Any) -> List[bytes]:
        """For tests and `raw`: sends `data` exactly, shuts down the write side, and returns every line the
        server sends until it closes (without terminators). The connection is then dropped."""
        data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        self.connect()
        assert self._sock is not None
        try:
            self._send(data)
            if self._sock is not None and not self._eof:
                try:
                    self._sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
            lines = []
            while True:
                line = self._read_line()
                if line is None:
                    return lines
                lines.append(line)
        finally:
            self._drop()

    # -- methods ------------------------------------------------------------------------------------------

    def tokenize(self, kind: str, subject: str, values: Sequence[str], limits: Optional[dict] = None,
                 idempotency_key: Optional[str] = None, scope: Optional[str] = None) -> List[str]:
        """Stores `values` for `subject`; returns their tokens in order. `limits`: a dict with any of
        `purposes` (list), `expires_at` ("YYYY-MM-DDTHH:MM:SSZ"), `max_reveals` (int)."""
        if isinstance(values, (str, bytes)):
            raise TypeError("values must be a list of strings, not a single string")
        params: dict = {"kind": kind, "subject": subject, "values": list(values)}
        if limits is not None:
            params["limits"] = limits
        if idempotency_key is not None:
            params["idempotency_key"] = idempotency_key
        if scope is not None:
            params["scope"] = scope
        return _member(self.call("tokenize", params), "tokens")

    def detokenize(self, tokens: Sequence[str], purpose: str) -> List[dict]:
        """One item per token, in order: `{"value": …, "reveal": "plain"|"masked"}` or
        `{"error": "denied"|"not_found"|"integrity"|"restricted"|"no_consent"}`."""
        if isinstance(tokens, (str, bytes)):
            raise TypeError("tokens must be a list of strings, not a single string")
        return _member(self.call("detokenize", {"tokens": list(tokens), "purpose": purpose}), "items")

    def erase(self, subject: str) -> int:
        """Destroys every token of `subject`; returns how many (0 for an unknown subject)."""
        return _member(self.call("erase", {"subject": subject}), "erased")

    # The customer's choices (docs/PROTOCOL.md §6.7 to §6.11).

    def grant_consent(self, subject: str, purposes: Sequence[str], source: str,
                      expires_at: Optional[str] = None) -> dict:
        """Records `subject`'s consent to `purposes`, made at `source` (a short label such as
        `signup-form-v3`), until `expires_at` ("YYYY-MM-DDTHH:MM:SSZ"; None: until withdrawn). Returns
        `{"granted": [...]}`, with `"not_required": [...]` for purposes the policy does not require consent for."""
        if isinstance(purposes, (str, bytes)):
            raise TypeError("purposes must be a list of strings, not a single string")
        params: dict = {"subject": subject, "purposes": list(purposes), "source": source}
        if expires_at is not None:
            params["expires_at"] = expires_at
        result = self.call("consent.grant", params)
        _member(result, "granted")
        return result

    def withdraw_consent(self, subject: str, purposes: Any, source: str) -> List[str]:
        """Records `subject`'s withdrawal of `purposes` (a list, or "*" for every purpose: the deregister
        button); returns the purposes withdrawn. Once this has returned, no reveal for them succeeds."""
        if isinstance(purposes, bytes) or (isinstance(purposes, str) and purposes != "*"):
            raise TypeError('purposes must be a list of strings, or "*" for every purpose')
        wire = purposes if purposes == "*" else list(purposes)
        return _member(self.call("consent.withdraw", {"subject": subject, "purposes": wire, "source": source}),
                       "withdrawn")

    def consent_list(self, subject: str) -> dict:
        """`{"current": [{"purpose", "state", "since", "source", "required", "expires_at"?}, ...],
        "history": [{"purpose", "state", "at", "source", "expires_at"?}, ...]}`."""
        result = self.call("consent.list", {"subject": subject})
        _member(result, "current")
        _member(result, "history")
        return result

    def restrict(self, subject: str, reason: str) -> dict:
        """Restricts `subject`'s processing (GDPR Art. 18) for `reason` (a short label);
        `{"restricted": true, "since": ..., "reason": ...}`."""
        result = self.call("subject.restrict", {"subject": subject, "reason": reason})
        _member(result, "since")
        return result

    def unrestrict(self, subject: str) -> bool:
        """Lifts `subject`'s restriction; whether one was in force."""
        return _member(self.call("subject.unrestrict", {"subject": subject}), "was_restricted")

    def erase_with_receipt(self, subject: str) -> dict:
        """`erase`, answering `{"erased": N, "receipt": TEXT}`: TEXT is the erasure receipt file exactly as
        the vault signed it; write its UTF-8 bytes unchanged and `cvault statement verify` checks it."""
        return self.call("erase", {"subject": subject})

    def whoami(self) -> dict:
        """`{"identity": …, "roles": […]}`."""
        return self.call("whoami")

    def health(self) -> dict:
        """`{"status": "ok"|"sealed", "version": …, "active_kek": int|None}`."""
        return self.call("health")

    # -- the customer's access (docs/PROTOCOL.md §6.12-6.13) --------------------------------------------------

    def subject_report(self, subject: str) -> bytes:
        """The subject's access report: the signed statement's file, byte for byte. Write it out as it is;
        `cvault statement verify FILE` checks it (any change, even of whitespace, fails)."""
        statement = _member(self.call("subject.report", {"subject": subject}), "statement")
        if not isinstance(statement, str):
            raise VaultClientError("subject.report result has no statement string")
        return statement.encode("utf-8")

    def subject_export(self, subject: str, purpose: str) -> dict:
        """Every value of `subject` in plain for `purpose` (by convention subject-access):
        `{"subject", "purpose", "items": [{"reference", "kind", "token_type", "created_at",
        "value" | "error"}]}`."""
        return self.call("subject.export", {"subject": subject, "purpose": purpose})


# ---------------------------------------------------------------------------------------------------------
# Helpers


def _encode(obj: Any) -> bytes:
    # ensure_ascii=False keeps lines short; json escapes every control character, so no raw newline.
    # A str holding a lone surrogate cannot be encoded and raises UnicodeEncodeError (a ValueError).
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8") + b"\n"


def _parse(line: bytes) -> Any:
    try:
        return json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise VaultClientError(f"malformed response: not a UTF-8 JSON text ({e.__class__.__name__})") from None


def _is_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _method_params(call: Any) -> tuple:
    if isinstance(call, str):
        return call, None
    if isinstance(call, (tuple, list)) and len(call) in (1, 2) and isinstance(call[0], str):
        return (call[0], call[1] if len(call) == 2 else None)
    raise TypeError("each call must be (method, params), a method name, or a Notification")


def _outcome(response: Any, expected_id: Any) -> Any:
    """The result of a response, or a VaultRPCError for an error response."""
    if not isinstance(response, dict):
        raise VaultClientError("malformed response: not a JSON object")
    rid = response.get("id")
    if "error" in response:
        # Parse errors and too-large lines carry id null; responses come in order, so it is ours.
        if rid is not None and rid != expected_id:
            raise VaultClientError(f"response id {rid!r} does not match request id {expected_id!r}")
        return VaultRPCError.from_error(response["error"], rid)
    if rid != expected_id:
        raise VaultClientError(f"response id {rid!r} does not match request id {expected_id!r}")
    if "result" not in response:
        raise VaultClientError("malformed response: neither `result` nor `error`")
    return response["result"]


def _member(result: Any, name: str) -> Any:
    if not isinstance(result, dict) or name not in result:
        raise VaultClientError(f"malformed result: no `{name}`")
    return result[name]


# ---------------------------------------------------------------------------------------------------------
# Command line

PROG = "cvault_client"

EPILOG = """\
output:
  tokenize     one token per line, in order
  detokenize   one line per token, in order: the value (plain or masked), or `!<error>` (`!denied`,
               `!not_found`, `!integrity`, `!restricted`, `!no_consent`). A value that is empty, starts
               with `!` or `"`, or contains a control character (e.g. a newline in an address) or
               U+2028/U+2029 is printed as a JSON string literal instead, so every line is unambiguous.
  erase        the number of tokens erased; with --receipt FILE the erasure receipt is written to FILE
               (a new file), byte for byte as the vault signed it
  whoami, health, --json
               the result as JSON
  raw          sends stdin byte for byte, closes its side, prints every response line until the server
               closes

values and tokens come from the arguments, or else one per line from stdin.

exit status:
  0  success
  1  could not talk to the server (no socket, connection closed, timeout, malformed response)
  2  the server answered with an error (printed as `cvault_client: error: <message> (code N)`), or bad usage
  3  detokenize: at least one token was not revealed
"""


def _build_parser() -> argparse.ArgumentParser:
    # The global options are accepted before or after the subcommand.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--socket", metavar="PATH", default=argparse.SUPPRESS,
                        help=f"the server's socket (default: $CVAULT_SOCKET, else {DEFAULT_SOCKET})")
    common.add_argument("--timeout", metavar="SECONDS", type=float, default=argparse.SUPPRESS,
                        help=f"give up after this long without progress (default {DEFAULT_TIMEOUT:g})")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print the result as JSON")

    parser = argparse.ArgumentParser(
        prog=PROG, parents=[common], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Talk to a cvault server over its Unix socket (docs/PROTOCOL.md).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("tokenize", parents=[common], help="swap values for tokens")
    p.add_argument("--kind", required=True,
                   help="email, phone, card, ssn, name, address, date or text")
    p.add_argument("--subject", required=True, help="the customer's id, e.g. cust-42")
    p.add_argument("--scope", help="scope of deterministic tokens (default: default)")
    p.add_argument("--purposes", metavar="A,B", help="the only purposes the tokens may be revealed for")
    p.add_argument("--expires-at", metavar="T", help="expiry, YYYY-MM-DDTHH:MM:SSZ")
    p.add_argument("--max-reveals", metavar="N", type=int, help="most reveals per token")
    p.add_argument("--idempotency-key", metavar="KEY", help="makes a retry return the same tokens")
    p.add_argument("values", nargs="*", metavar="VALUE")

    p = sub.add_parser("detokenize", parents=[common], help="swap tokens back for values")
    p.add_argument("--purpose", required=True, help="why the values are needed, e.g. charge")
    p.add_argument("tokens", nargs="*", metavar="TOKEN")

    p = sub.add_parser("erase", parents=[common], help="destroy every token of a subject")
    p.add_argument("--subject", required=True)
    p.add_argument("--receipt", metavar="FILE", help="write the erasure receipt to this new file")

    p = sub.add_parser("subject-report", parents=[common], help="a customer's signed access report")
    p.add_argument("--subject", required=True)
    p.add_argument("--out", metavar="FILE", help="write the statement file here (default: print it)")

    p = sub.add_parser("subject-export", parents=[common], help="every value of a customer, as JSON")
    p.add_argument("--subject", required=True)
    p.add_argument("--purpose", required=True, help="e.g. subject-access")

    sub.add_parser("whoami", parents=[common], help="the caller's identity and roles")
    sub.add_parser("health", parents=[common], help="the server's status")
    sub.add_parser("raw", parents=[common], help="send raw lines from stdin, print the response lines")
    return parser


def _stdin_lines() -> List[str]:
    text = sys.stdin.buffer.read().decode("utf-8")
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _display(value: Any) -> str:
    if not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if (value == "" or value[0] in '!"' or "\u2028" in value or "\u2029" in value
            or any(unicodedata.category(c) == "Cc" for c in value)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _out(text: str) -> None:
    sys.stdout.buffer.write(text.encode("utf-8", "backslashreplace") + b"\n")


def _err(text: str) -> None:
    sys.stderr.write(f"{PROG}: {text}\n")
    sys.stderr.flush()


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _build_parser().parse_args(argv)
    as_json = getattr(args, "json", False)
    client = VaultClient(getattr(args, "socket", None), timeout=getattr(args, "timeout", DEFAULT_TIMEOUT))
    try:
        with client:
            if args.command == "tokenize":
                values = args.values if args.values else _stdin_lines()
                limits = {}
                if args.purposes is not None:
                    limits["purposes"] = [p.strip() for p in args.purposes.split(",") if p.strip()]
                if args.expires_at is not None:
                    limits["expires_at"] = args.expires_at
                if args.max_reveals is not None:
                    limits["max_reveals"] = args.max_reveals
                params: dict = {"kind": args.kind, "subject": args.subject, "values": values}
                if limits:
                    params["limits"] = limits
                if args.idempotency_key is not None:
                    params["idempotency_key"] = args.idempotency_key
                if args.scope is not None:
                    params["scope"] = args.scope
                result = client.call("tokenize", params)
                if as_json:
                    _out(_json(result))
                else:
                    for token in _member(result, "tokens"):
                        _out(token)
                return 0

            if args.command == "detokenize":
                tokens = args.tokens if args.tokens else _stdin_lines()
                result = client.call("detokenize", {"tokens": tokens, "purpose": args.purpose})
                items = _member(result, "items")
                if as_json:
                    _out(_json(result))
                all_revealed = True
                for item in items:
                    if isinstance(item, dict) and "value" in item:
                        if not as_json:
                            _out(_display(item["value"]))
                    else:
                        all_revealed = False
                        if not as_json:
                            error = item.get("error") if isinstance(item, dict) else None
                            _out("!" + (error if isinstance(error, str) else "malformed"))
                return 0 if all_revealed else 3

            if args.command == "erase":
                if args.receipt is not None and os.path.lexists(args.receipt):
                    _err(f"error: {args.receipt} already exists; nothing was erased")
                    return 1
                result = client.erase_with_receipt(args.subject)
                _out(_json(result) if as_json else str(_member(result, "erased")))
                if args.receipt is not None:
                    receipt = _member(result, "receipt")
                    if not isinstance(receipt, str):
                        raise VaultClientError("malformed result: `receipt` is not a string")
                    with open(args.receipt, "xb") as f:
                        f.write(receipt.encode("utf-8"))
                return 0

            if args.command == "subject-report":
                statement = client.subject_report(args.subject)
                if args.out is not None:
                    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    with os.fdopen(fd, "wb") as f:
                        f.write(statement)
                else:
                    sys.stdout.buffer.write(statement)
                return 0

            if args.command == "subject-export":
                _out(_json(client.subject_export(args.subject, args.purpose)))
                return 0

            if args.command in ("whoami", "health"):
                _out(_json(client.call(args.command)))
                return 0

            if args.command == "raw":
                for line in client.raw_session(sys.stdin.buffer.read()):
                    sys.stdout.buffer.write(line + b"\n")
                return 0

            raise AssertionError(args.command)
    except VaultRPCError as e:
        _err(f"error: {e.message} (code {e.code})")
        if e.data:
            _err(f"data: {_json(e.data)}")
        return 2
    except UnicodeError:
        _err("error: the arguments or stdin are not valid UTF-8")
        return 2
    except (VaultClientError, OSError) as e:
        _err(f"error: {e}")
        return 1
    finally:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            pass


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        # stdout went away (e.g. `| head`): exit quietly.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        sys.exit(1)
