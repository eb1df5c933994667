"""Files in an S3-compatible bucket (DESTEK_STORAGE=s3), for machines that share no folder.

The bucket is moto's S3 in this process: no network. What matters to people: the settings pick
the storage and refuse half a configuration, and a file in the bucket still reaches only those
who may see it, through our views, never by a link into the bucket.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from moto import mock_aws

from destek.accounts.models import User
from destek.settings_base import choose_file_storage
from destek.tickets import actions

BUCKET = "destek-files"
REGION = "eu-central-1"
S3_ENV = {
    "DESTEK_STORAGE": "s3",
    "DESTEK_S3_BUCKET": BUCKET,
    "DESTEK_S3_REGION": REGION,
    "DESTEK_S3_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "DESTEK_S3_SECRET_ACCESS_KEY": "not-a-real-secret",
    "DESTEK_S3_PREFIX": "/support/",
}


def configure(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in (*S3_ENV, "DESTEK_S3_ENDPOINT_URL", "DESTEK_S3_ADDRESSING_STYLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return choose_file_storage()


def test_without_settings_files_stay_on_the_durable_file_system(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert configure(monkeypatch) == {"BACKEND": "destek.lib.storage.DurableFileSystemStorage"}
    assert configure(monkeypatch, DESTEK_STORAGE="filesystem")["BACKEND"].endswith(
        "DurableFileSystemStorage"
    )


def test_s3_settings_name_the_bucket_endpoint_region_and_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chosen = configure(
        monkeypatch,
        **S3_ENV,
        DESTEK_S3_ENDPOINT_URL="https://minio.internal:9000",
        DESTEK_S3_ADDRESSING_STYLE="path",
    )
    assert chosen["BACKEND"] == "destek.lib.storage_s3.PrivateS3Storage"
    assert chosen["OPTIONS"] == {
        "bucket_name": BUCKET,
        "endpoint_url": "https://minio.internal:9000",
        "region_name": REGION,
        "access_key": "AKIDEXAMPLE",
        "secret_key": "not-a-real-secret",
        "location": "support",
        "addressing_style": "path",
        "verify": None,
    }


def test_the_machines_own_credentials_are_used_when_no_keys_are_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chosen = configure(monkeypatch, DESTEK_STORAGE="s3", DESTEK_S3_BUCKET=BUCKET)
    assert chosen["OPTIONS"]["access_key"] is None
    assert chosen["OPTIONS"]["secret_key"] is None


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DESTEK_STORAGE": "ftp"}, "DESTEK_STORAGE"),
        ({"DESTEK_STORAGE": "s3"}, "DESTEK_S3_BUCKET"),
        (
            {"DESTEK_STORAGE": "s3", "DESTEK_S3_BUCKET": BUCKET, "DESTEK_S3_ACCESS_KEY_ID": "AK"},
            "DESTEK_S3_SECRET_ACCESS_KEY",
        ),
        (
            {"DESTEK_STORAGE": "s3", "DESTEK_S3_BUCKET": BUCKET, "DESTEK_S3_ADDRESSING_STYLE": "x"},
            "DESTEK_S3_ADDRESSING_STYLE",
        ),
    ],
)
def test_half_an_s3_configuration_stops_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=named):
        configure(monkeypatch, **env)


@pytest.fixture
def bucket(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's S3 in this process, and the default storage pointed at it by the settings."""
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        settings.STORAGES = {**settings.STORAGES, "default": configure(monkeypatch, **S3_ENV)}
        yield client


def signed_in(user: User) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_an_attachment_in_the_bucket_reaches_only_those_who_may_see_it_through_our_view(
    bucket: Any, users: dict[str, User]
) -> None:
    upload = SimpleUploadedFile("page.html", b"<script>alert(1)</script>", "text/html")
    attachment = actions.store_upload(users["customer"], upload)
    actions.create_ticket(
        customer=users["customer"],
        subject="The invoice page shows a script",
        body="The page I saved is attached.",
        channel="web",
        attachments=[attachment],
    )
    [key] = [o["Key"] for o in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert key == f"support/{attachment.file.name}"
    assert attachment.file.name.startswith("attachments/") and "page" not in key

    url = f"/attachments/{attachment.public_id}/"
    response: Any = signed_in(users["customer"]).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"
    assert response["Content-Disposition"] == 'attachment; filename="page.html"'
    assert signed_in(users["agent"]).get(url).status_code == 200  # Technical
    assert signed_in(users["finance"]).get(url).status_code == 404
    assert signed_in(users["customer2"]).get(url).status_code == 404

    # The object itself: private, and inert even if the bucket were opened by mistake.
    head = bucket.head_object(Bucket=BUCKET, Key=key)
    assert head["ContentType"] == "application/octet-stream"
    assert head["ContentDisposition"] == "attachment"
    grants = bucket.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
    assert all("URI" not in grant["Grantee"] for grant in grants), grants  # no AllUsers


@pytest.mark.django_db
def test_the_bucket_never_overwrites_a_file_and_any_link_into_it_is_signed_and_short_lived(
    bucket: Any,
) -> None:
    storage = storages["default"]
    first = storage.save("kb/2026/01/guide.pdf", ContentFile(b"first"))
    second = storage.save("kb/2026/01/guide.pdf", ContentFile(b"second"))
    assert first != second
    assert storage.open(first).read() == b"first"
    assert storage.open(second).read() == b"second"
    query = parse_qs(urlsplit(storage.url(first)).query)
    assert query["X-Amz-Expires"] == ["300"] and query["X-Amz-Signature"]
    with pytest.raises(FileNotFoundError):
        storage.open("attachments/2026/01/gone.bin")
