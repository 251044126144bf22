"""Notifications: the channels that tell people (e-mail, a webhook) and the sender that
drains the outbox of notifications through them. What is told and to whom is the
domain's (service.domain.notifications); raising the events is the job of the code
that changes the state (the worker, review polling, fixity checks, the deadline board).

    port.py      NotificationChannel: send(notification) → Delivered | RetryLater | Failed
    signing.py   Standard Webhooks signatures (pure)
    email.py     the SMTP channel (smtplib), the only module that speaks SMTP
    webhook.py   the webhook channel (httpx)
    sender.py    claims due notifications under a lease, sends, settles, retries
"""
