"""The S3 event notification, as AWS (and moto, and older event versions) deliver it.

Lenient on purpose: AWS owns this shape, so unknown fields are ignored and the
fields that moto or older event versions omit are optional. What an upload *is* (its
video, version, correlation id) is read from a record in one place: `contracts.uploads`.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, Field


class _AwsShape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class S3Bucket(_AwsShape):
    name: str
    arn: str | None = None


class S3Object(_AwsShape):
    key: str = Field(description="URL-encoded as S3 sends it (space is '+').")
    size: int | None = None
    e_tag: str | None = Field(default=None, alias="eTag")
    version_id: str | None = Field(default=None, alias="versionId")
    sequencer: str | None = None

    @property
    def decoded_key(self) -> str:
        """The real object key: S3 form-encodes keys in notifications."""
        return unquote_plus(self.key)


class S3Entity(_AwsShape):
    bucket: S3Bucket
    object: S3Object
    configuration_id: str | None = Field(default=None, alias="configurationId")


class S3EventRecord(_AwsShape):
    event_version: str | None = Field(default=None, alias="eventVersion")
    event_source: str | None = Field(default=None, alias="eventSource")
    aws_region: str | None = Field(default=None, alias="awsRegion")
    event_time: datetime | None = Field(default=None, alias="eventTime")
    event_name: str = Field(alias="eventName")
    response_elements: dict[str, str] | None = Field(default=None, alias="responseElements")
    s3: S3Entity

    @property
    def bucket(self) -> str:
        return self.s3.bucket.name

    @property
    def key(self) -> str:
        return self.s3.object.decoded_key

    @property
    def is_object_created(self) -> bool:
        return self.event_name.startswith("ObjectCreated:")


class S3Event(_AwsShape):
    records: list[S3EventRecord] = Field(alias="Records", min_length=1)


class S3TestEvent(_AwsShape):
    """Sent once by S3 when a notification configuration is created; carries no object."""

    service: str = Field(alias="Service")
    event: str = Field(alias="Event", pattern=r"^s3:TestEvent$")
    bucket: str | None = Field(default=None, alias="Bucket")
    time: datetime | None = Field(default=None, alias="Time")
