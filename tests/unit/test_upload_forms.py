from __future__ import annotations

import pytest

from contracts.api import CreateUpload
from intake.logic.forms import UploadRefused, plan_upload, safe_filename


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("My Holiday.final.mp4", "My Holiday.final.mp4"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\clip.mov", "clip.mov"),
        ("vidéo 日本.mp4", "vidéo 日本.mp4"),
        ("$(id).mp4", "(id).mp4"),
        ("-rf.mp4", "rf.mp4"),
        ("a\x00b\nc.mp4", "abc.mp4"),
        ("...", "video"),
        ("x" * 300 + ".mp4", "x" * 200),
    ],
)
def test_safe_filename(given: str, safe: str):
    assert safe_filename(given) == safe


def test_the_key_is_the_owners_prefix_and_a_new_id():
    request = CreateUpload(filename="a.mp4", content_type="video/mp4", size=10)
    plan = plan_upload(request, owner="sub-1", max_size=100, new_id=lambda: "0123456789abcdef")
    assert plan.key == "uploads/sub-1/0123456789abcdef/a.mp4"


def test_over_the_maximum_is_refused():
    with pytest.raises(UploadRefused):
        plan_upload(CreateUpload(filename="a.mp4", content_type="video/mp4", size=101), owner="o", max_size=100)
