"""The playback CDN (CloudFront) in front of the transcoded bucket."""

from __future__ import annotations

from typing import Any


class CloudFrontInvalidations:
    """Invalidations on one distribution. CloudFront answers a repeated CallerReference (with the same paths) with
    the invalidation it made the first time, so a retried request makes no second one."""

    def __init__(self, client: Any, distribution_id: str) -> None:
        self._cloudfront, self._distribution = client, distribution_id

    def invalidate(self, paths: list[str], *, reference: str) -> None:
        self._cloudfront.create_invalidation(
            DistributionId=self._distribution,
            InvalidationBatch={"Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": reference},
        )
