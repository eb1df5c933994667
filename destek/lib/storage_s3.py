"""Attachments, raw mail and knowledge-base files in an S3-compatible bucket (DESTEK_STORAGE=s3).

For several machines that share no folder. The files still reach people only through our own
views (`tickets/downloads.py`, the knowledge base's file view), which check access and stream
the bytes: the bucket is private and nothing links to it. So the policy is fixed here, not
left to settings:

- no ACL is sent: objects inherit the bucket's own (private) setting, which also works on
  buckets that refuse ACLs altogether (AWS's default since 2023);
- every object is stored as `application/octet-stream` with `Content-Disposition: attachment`,
  so even a bucket made public by mistake would not render a customer's HTML or SVG;
- a name in use is never overwritten (django-storages overwrites by default);
- should anything ever ask for a URL, it is signed and lives five minutes.

A module of its own so that boto3 (a tenth of a second to import) loads only where it is used.
"""

from __future__ import annotations

from typing import Any

from storages.backends.s3 import S3Storage

#: Signed URLs (nothing of ours asks for one) expire after this many seconds.
SIGNED_URL_SECONDS = 300


class PrivateS3Storage(S3Storage):  # type: ignore[misc]
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        # After the options, so no setting can loosen them.
        self.file_overwrite = False
        self.default_acl = None
        self.querystring_auth = True
        self.querystring_expire = SIGNED_URL_SECONDS
        self.custom_domain = None
        self.object_parameters = {
            "ContentType": "application/octet-stream",
            "ContentDisposition": "attachment",
        }
