"""Alert channels for the live risk controls: the log, a webhook (JSON POST) and e-mail (SMTP).

Network delivery never runs on the trading thread: :class:`AlertDispatcher` queues each alert
and one background thread hands it to every channel. A channel that fails is logged and
counted (``failures``); the others still get the alert, and trading goes on.
"""

from __future__ import annotations

import logging
import os
import queue
import smtplib
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Protocol

import msgspec

from hftcore.errors import ConfigError
from hftcore.model.risk_controls import EmailConfig, RiskEvent, WebhookConfig

logger = logging.getLogger(__name__)

_ENCODER = msgspec.json.Encoder()


def describe(event: RiskEvent) -> str:
    """One line for a human: the event's kind, reason and numbers."""
    numbers = ", ".join(f"{key}={value}" for key, value in getattr(event, "values", {}).items())
    return f"{type(event).__name__}: {event.reason}" + (f" ({numbers})" if numbers else "")


class AlertChannel(Protocol):
    name: str

    def send(self, event: RiskEvent) -> None:
        """Delivers one alert; raises on failure (the dispatcher logs and counts it)."""


class LogChannel:
    """Writes every alert to the ``hftcore.risk.alerts`` logger at WARNING level."""

    name = "log"

    def send(self, event: RiskEvent) -> None:
        logger.warning("risk alert: %s", describe(event))


class WebhookChannel:
    """POSTs the event as JSON (msgspec encoding, with its ``type`` tag) to ``url``; any
    status other than 2xx is a failure."""

    name = "webhook"

    def __init__(self, config: WebhookConfig) -> None:
        if not config.url.startswith(("http://", "https://")):
            raise ConfigError("INVALID_CONFIG", f"webhook.url must be http(s), got {config.url!r}")
        self.config = config

    def send(self, event: RiskEvent) -> None:
        request = urllib.request.Request(
            self.config.url,
            data=_ENCODER.encode(event),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.config.timeout_s) as response:
            if not 200 <= response.status < 300:
                raise urllib.error.HTTPError(
                    self.config.url, response.status, "webhook refused", response.headers, None
                )


class EmailChannel:
    """Sends one plain-text e-mail per alert through the configured SMTP server."""

    name = "email"

    def __init__(self, config: EmailConfig) -> None:
        if not config.recipients:
            raise ConfigError("INVALID_CONFIG", "email.recipients: at least one is needed")
        self.config = config
        self._password: str | None = None
        if config.password_env is not None:
            self._password = os.environ.get(config.password_env)
            if self._password is None:
                raise ConfigError(
                    "MISSING_SECRET", f"email password variable {config.password_env} is not set"
                )

    def send(self, event: RiskEvent) -> None:
        config = self.config
        message = EmailMessage()
        message["From"] = config.sender
        message["To"] = ", ".join(config.recipients)
        message["Subject"] = f"[hftcore risk] {type(event).__name__}: {event.reason}"[:200]
        message.set_content(describe(event) + "\n\n" + _ENCODER.encode(event).decode())
        with smtplib.SMTP(config.host, config.port, timeout=config.timeout_s) as smtp:
            if config.starttls:
                smtp.starttls()
            if config.username is not None:
                smtp.login(config.username, self._password or "")
            smtp.send_message(message)


class AlertDispatcher:
    """Delivers alerts to its channels from one background thread, in order."""

    def __init__(self, channels: Sequence[AlertChannel]) -> None:
        self.channels = list(channels)
        self.failures: dict[str, int] = {channel.name: 0 for channel in self.channels}
        self.delivered = 0
        self._queue: queue.Queue[RiskEvent | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="risk-alerts", daemon=True)
        self._thread.start()

    def publish(self, event: RiskEvent) -> None:
        """Queues an alert; returns at once."""
        self._queue.put(event)

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            try:
                if event is None:
                    return
                for channel in self.channels:
                    try:
                        channel.send(event)
                    except Exception:  # one broken channel must not silence the others
                        self.failures[channel.name] += 1
                        logger.exception("alert channel %s failed", channel.name)
                self.delivered += 1
            finally:
                self._queue.task_done()

    def flush(self) -> None:
        """Waits until every queued alert went through every channel."""
        self._queue.join()

    def close(self) -> None:
        """Delivers what is queued, then stops the thread."""
        self._queue.put(None)
        self._thread.join()


def channels_from_config(
    webhook: WebhookConfig | None, email: EmailConfig | None
) -> list[AlertChannel]:
    """The log channel, plus the webhook and e-mail channels that are configured."""
    channels: list[AlertChannel] = [LogChannel()]
    if webhook is not None:
        channels.append(WebhookChannel(webhook))
    if email is not None:
        channels.append(EmailChannel(email))
    return channels
