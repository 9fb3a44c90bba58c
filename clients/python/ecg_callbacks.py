"""Callbacks from an ML server to the ECG backend, with the Python standard library only.

The ML server receives ``fastapi_base_url`` in ``process-video`` (openapi/v1.1/ml-server.yaml); it
carries a per-job token, so callbacks posted under it are authenticated even unsigned. With the
backend's ``WEBHOOK_SECRET`` they are also signed with Standard Webhooks (docs/callbacks.md).

    from ecg_callbacks import CallbackClient

    callbacks = CallbackClient(req["fastapi_base_url"], secret=os.environ.get("WEBHOOK_SECRET"))
    callbacks.progress(req["job_id"], 10, "Downloading the video")
    callbacks.completed(req["job_id"], result)

This is the twin of ``createCallbackClient`` in ``@ecg/sdk/ml-server`` and follows the same rules:
the body is serialised once and exactly the signed bytes are sent; one ``webhook-id`` per callback,
kept across its retries; network errors, 5xx and 429 are retried with exponential backoff and
jitter, ``Retry-After`` is honoured, and retrying stops after ``max_attempts`` or ``deadline``.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import hmac
import http.client
import json
import math
import random
import socket
import time
import urllib.error
import urllib.request
import uuid
from typing import Any, Callable, Dict, Literal, Mapping, Optional, TypedDict, Union

__all__ = [
    "CallbackAck",
    "CallbackBody",
    "CallbackClient",
    "CallbackError",
    "callback_path",
    "secret_key",
    "sign",
]

ContractVersion = Literal["v1.0", "v1.1"]

#: Where each contract version posts callbacks, under the base URL (openapi/v1.*/ml-server.yaml).
_PATHS: Dict[str, str] = {"v1.1": "/api/upload-video/result", "v1.0": "/api/v1/ml/ml-results"}
_WHSEC = "whsec_"
_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


class CallbackBody(TypedDict):
    """What is sent: always all seven keys, ``None`` where one does not apply (as the real ML server does)."""

    job_id: str
    status: Literal["processing", "completed", "failed"]
    progress: Optional[float]
    message: Optional[str]
    result: Optional[Dict[str, Any]]
    error_message: Optional[str]
    error_code: Optional[str]


class CallbackAck(TypedDict, total=False):
    """The backend's answer: ``received``, or ``ignored`` with a ``reason`` (job finished, cancelled, duplicate)."""

    status: Literal["received", "ignored"]
    job_id: str
    reason: str


class CallbackError(Exception):
    """A callback that was not delivered.

    ``status`` is the HTTP status (0 when no answer came), ``code`` the backend's error code
    (``UNAUTHORIZED``, ``JOB_NOT_FOUND``, ...) or ``NETWORK_ERROR``/``TIMEOUT``/``HTTP_ERROR``,
    ``attempts`` how many requests were made.
    """

    def __init__(self, status: int, code: str, message: str, *, body: Any = None,
                 retry_after: Optional[float] = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.body = body
        self.retry_after = retry_after
        self.attempts = attempts

    def __repr__(self) -> str:
        return f"CallbackError(status={self.status}, code={self.code!r}, message={self.message!r}, attempts={self.attempts})"


def callback_path(version: str) -> str:
    """The callback path of a contract version: ``/api/upload-video/result`` (v1.1) or ``/api/v1/ml/ml-results`` (v1.0)."""
    try:
        return _PATHS[version]
    except KeyError:
        raise ValueError(f"version must be 'v1.1' or 'v1.0', not {version!r}") from None


def _decode_whsec_base64(text: str) -> bytes:
    # The backend and the TypeScript SDK decode with @stablelib/base64 (through `standardwebhooks`):
    # standard alphabet, at most two '=' at the end, at least four characters, a missing final
    # padding tolerated, and a lone trailing character ignored. The same here, so one secret
    # string means one key everywhere.
    padding = len(text) - len(text.rstrip("="))
    if len(text) < 4 or padding > 2:
        raise ValueError("the whsec_ secret is not valid base64 (incorrect padding)")
    data = text[: len(text) - padding]
    if len(data) % 4 == 1:
        data = data[:-1]
    if any(ch not in _B64_ALPHABET for ch in data):
        raise ValueError("the whsec_ secret is not valid base64 (incorrect characters)")
    try:
        return base64.b64decode(data + "=" * (-len(data) % 4), validate=True)
    except binascii.Error as err:  # pragma: no cover - the checks above leave nothing for it
        raise ValueError(f"the whsec_ secret is not valid base64 ({err})") from None


def secret_key(secret: str) -> bytes:
    """The HMAC key a ``WEBHOOK_SECRET`` stands for, exactly as the backend reads it.

    ``whsec_<base64>`` is a Standard Webhooks secret: the key is the decoded base64. Any other
    string is the key itself; like ``standardwebhooks``' raw format, each character contributes the
    low byte of its (first) UTF-16 code unit, which for ASCII secrets is simply their bytes.

    >>> secret_key("whsec_c2VjcmV0")
    b'secret'
    >>> secret_key("secret")
    b'secret'
    """
    if secret.startswith(_WHSEC):
        key = _decode_whsec_base64(secret[len(_WHSEC):])
    else:
        key = bytes(((ord(ch) if ord(ch) < 0x10000 else 0xD800 + ((ord(ch) - 0x10000) >> 10)) & 0xFF) for ch in secret)
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def sign(secret: Union[str, bytes], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">``.

    ``secret`` is a ``WEBHOOK_SECRET`` string (see :func:`secret_key`) or the key bytes; ``body``
    the exact bytes sent.
    """
    key = secret_key(secret) if isinstance(secret, str) else secret
    signed = f"{msg_id}.{int(timestamp)}.".encode("utf-8") + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def _parse_retry_after(value: Optional[str], now: float) -> Optional[float]:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would turn the POST into a GET without the body: report it as the answer instead.
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


class CallbackClient:
    """Reports a job's progress, result or failure to the backend.

    :param base_url: the ``fastapi_base_url`` received in ``process-video`` (it may carry a per-job
        token path), or, for v1.0 ML servers, the backend's base URL.
    :param secret: the backend's ``WEBHOOK_SECRET``; when given, every callback is signed.
    :param version: ``"v1.1"`` posts to ``/api/upload-video/result``, ``"v1.0"`` to ``/api/v1/ml/ml-results``.
    :param timeout: seconds one attempt may take.
    :param max_attempts: attempts per callback, the first included.
    :param deadline: seconds one callback may take in all, retries and waits included.
    :param base_delay: the first retry delay in seconds, doubled per attempt, with jitter.
    :param max_delay: the longest computed delay (``Retry-After`` may ask for more, within the deadline).
    :param sleep: how to wait between attempts (``time.sleep``; a test may pass its own).

    Each method returns the backend's acknowledgement, or raises :class:`CallbackError`: at once
    for a 4xx other than 429, after the retries or the deadline for network errors, 5xx and 429.
    """

    def __init__(self, base_url: str, secret: Optional[str] = None, version: ContractVersion = "v1.1",
                 timeout: float = 10.0, *, max_attempts: int = 5, deadline: float = 120.0,
                 base_delay: float = 0.5, max_delay: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.url = base_url.rstrip("/") + callback_path(version)
        self.version = version
        # Same test as the SDK: an empty secret means unsigned.
        self._key = secret_key(secret) if secret else None
        self.timeout = timeout
        self.max_attempts = max(1, int(max_attempts))
        self.deadline = deadline
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._sleep = sleep
        self._opener = urllib.request.build_opener(_NoRedirect())

    def progress(self, job_id: str, percent: float, message: Optional[str] = None) -> CallbackAck:
        """``status: "processing"`` with a percentage (rounded, clamped to 0-100) and an optional stage message."""
        clamped = max(0, min(100, math.floor(percent + 0.5)))
        return self.send(self._body(job_id, "processing", progress=clamped, message=message))

    def completed(self, job_id: str, result: Mapping[str, Any]) -> CallbackAck:
        """``status: "completed"``, ``progress: 100``, with the result (any shape in docs/results.md)."""
        return self.send(self._body(job_id, "completed", progress=100, result=dict(result)))

    def failed(self, job_id: str, code: str, message: str) -> CallbackAck:
        """``status: "failed"`` with an error code (``DOWNLOAD_ERROR``, ``PROCESSING_ERROR``, ...) and a message."""
        return self.send(self._body(job_id, "failed", error_code=code, error_message=message))

    @staticmethod
    def _body(job_id: str, status: str, **fields: Any) -> CallbackBody:
        body: Dict[str, Any] = {"job_id": job_id, "status": status, "progress": None, "message": None,
                                "result": None, "error_message": None, "error_code": None}
        body.update(fields)
        return body  # type: ignore[return-value]

    def send(self, body: Mapping[str, Any]) -> CallbackAck:
        """Sends a complete body as is, signed and retried like the others."""
        # Serialised once; every attempt sends these bytes. ASCII-only JSON, as Python's `requests`
        # sends it; NaN and infinities are not JSON, so they fail here rather than at the backend.
        payload = json.dumps(body, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")
        msg_id = f"msg_{uuid.uuid4().hex}"  # one id per callback, kept across its retries
        started = time.monotonic()
        deadline = started + self.deadline
        last: Optional[CallbackError] = None
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            headers = {"Content-Type": "application/json", "Accept": "application/json",
                       "User-Agent": "ecg-callbacks-python/1.0"}
            if self._key is not None:
                timestamp = int(time.time())  # fresh for every attempt, so a late retry is not too old
                headers["webhook-id"] = msg_id
                headers["webhook-timestamp"] = str(timestamp)
                headers["webhook-signature"] = sign(self._key, msg_id, timestamp, payload)
            attempt_timeout = min(self.timeout, remaining)
            request = urllib.request.Request(self.url, data=payload, headers=headers, method="POST")
            try:
                with self._opener.open(request, timeout=attempt_timeout) as response:
                    return self._ack(response.read())
            except urllib.error.HTTPError as err:
                try:
                    raw = err.read() if err.fp is not None else b""
                except (OSError, http.client.HTTPException):
                    raw = b""
                parsed = _parse_json(raw)
                envelope = parsed if isinstance(parsed, dict) and isinstance(parsed.get("error"), str) else None
                retry_after = _parse_retry_after(err.headers.get("Retry-After") if err.headers else None, time.time())
                if retry_after is None and envelope is not None and isinstance(envelope.get("retry_after"), (int, float)):
                    retry_after = float(envelope["retry_after"])
                last = CallbackError(
                    err.code,
                    envelope["error"] if envelope else "HTTP_ERROR",
                    envelope["message"] if envelope and isinstance(envelope.get("message"), str) else f"HTTP {err.code} {err.reason}".strip(),
                    body=parsed, retry_after=retry_after, attempts=attempt,
                )
                if not (err.code >= 500 or err.code == 429):
                    raise last from None
            except (socket.timeout, TimeoutError) as err:
                last = CallbackError(0, "TIMEOUT", f"The callback got no answer within {attempt_timeout:g} s.", attempts=attempt)
                last.__cause__ = err
            except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
                reason = getattr(err, "reason", err)
                if isinstance(reason, (socket.timeout, TimeoutError)):
                    last = CallbackError(0, "TIMEOUT", f"The callback got no answer within {attempt_timeout:g} s.", attempts=attempt)
                else:
                    last = CallbackError(0, "NETWORK_ERROR", f"The callback could not be delivered: {reason}", attempts=attempt)
                last.__cause__ = err
            if attempt >= self.max_attempts:
                break
            backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1)) * (0.5 + random.random() * 0.5)
            wait = max(backoff, last.retry_after or 0.0)
            if time.monotonic() + wait >= deadline:
                break
            self._sleep(wait)
        if last is None:
            last = CallbackError(0, "TIMEOUT", f"The callback was not delivered within {self.deadline:g} s.", attempts=attempt - 1)
        raise last

    @staticmethod
    def _ack(raw: bytes) -> CallbackAck:
        parsed = _parse_json(raw)
        if isinstance(parsed, dict) and parsed.get("status") in ("received", "ignored"):
            return parsed  # type: ignore[return-value]
        # A 2xx without the JSON acknowledgement still means delivered.
        return {"status": "received"}
