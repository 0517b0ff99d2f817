"""Upload a prepared dataset to S3 with boto3, skipping files that are already there unchanged.

Each object carries its SHA-256 in the ``sha256`` user metadata; a file is skipped when the
object at its key has the same digest (or, for objects uploaded by other tools, an ETag equal
to the file's MD5).  ``s3://bucket/prefix/`` + the path relative to the dataset root, so an
``organize`` output becomes ``s3://bucket/prefix/{train,validation,test}/...``.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from model_code.datasets.organize import file_digest

METADATA_KEY = "sha256"


class UploadError(ValueError):
    """Bad S3 URI or dataset folder."""


@dataclass(frozen=True)
class S3Location:
    """A bucket and a key prefix (no leading or trailing slash)."""

    bucket: str
    prefix: str

    def key(self, relative: str) -> str:
        """The object key of a file at ``relative`` (posix path) under the prefix."""
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def uri(self, relative: str = "") -> str:
        """``s3://bucket/prefix/relative``."""
        key = self.key(relative) if relative else self.prefix
        return f"s3://{self.bucket}/{key}".rstrip("/")


def parse_s3_uri(uri: str) -> S3Location:
    """Parse ``s3://bucket[/prefix]``; raises :class:`UploadError` otherwise."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise UploadError(f"expected an s3://bucket/prefix URI, got {uri!r}")
    return S3Location(bucket=parsed.netloc, prefix=parsed.path.strip("/"))


@dataclass
class PlannedUpload:
    """One file and where it goes."""

    path: Path
    relative: str
    key: str
    sha256: str
    action: str = "upload"  # upload | skip


def dataset_files(root: str | Path) -> list[Path]:
    """Every regular file under ``root`` (hidden files excluded), sorted."""
    root = Path(root)
    if not root.is_dir():
        raise UploadError(f"dataset folder {root} does not exist")
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.parts)
    )
    if not files:
        raise UploadError(f"no files under {root}")
    return files


def plan_upload(root: str | Path, location: S3Location) -> list[PlannedUpload]:
    """The uploads for every file under ``root`` (all marked ``upload``; see :func:`mark_unchanged`)."""
    root = Path(root)
    plans = []
    for path in dataset_files(root):
        relative = path.relative_to(root).as_posix()
        plans.append(PlannedUpload(path, relative, location.key(relative), file_digest(path)))
    return plans


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def is_unchanged(client: Any, bucket: str, item: PlannedUpload) -> bool:
    """True when the object at ``item.key`` holds the same bytes (by metadata digest or ETag)."""
    from botocore.exceptions import ClientError

    try:
        head = client.head_object(Bucket=bucket, Key=item.key)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    if head.get("Metadata", {}).get(METADATA_KEY) == item.sha256:
        return True
    etag = str(head.get("ETag", "")).strip('"')
    return "-" not in etag and etag == _md5(item.path)


def upload_one(client: Any, bucket: str, item: PlannedUpload) -> None:
    """Upload one file with its digest in the metadata."""
    content_type = mimetypes.guess_type(item.path.name)[0] or "application/octet-stream"
    client.upload_file(
        str(item.path),
        bucket,
        item.key,
        ExtraArgs={"Metadata": {METADATA_KEY: item.sha256}, "ContentType": content_type},
    )
