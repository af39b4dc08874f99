"""Subtitles: which text tracks a video carries and what people see them called, their HLS text, and the
assembly carrying each track or leaving a bad one out (never the video)."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.events import VideoTranscoded
from contracts.media import Probe
from tests.unit.fakes import FakeMedia, FakePublisher, FakeStorage, FakeTombstones, encode_every_chunk
from tests.unit.test_workflow_logic import BUCKET, GRID, SOURCE_KEY, STARTED, World, chunk_file
from transcode.logic import assembly, encoding, hls
from transcode.logic.languages import english_name, rfc5646
from transcode.logic.subtitles import SubtitleTrack, clean_name, text_tracks
from transcode.logic.tasks import TaskMessage
from transcode.logic.workflow import Plan, WorkflowConfig, WorkflowDeps

pytestmark = pytest.mark.service("transcode")

__all__ = ["chunk_file"]  # the fixture this module's world is built on

VTT = "WEBVTT\n\n00:02.000 --> 00:03.500\nHello <i>world</i>\n\n00:04.000 --> 00:05.000\nSecond line\n"


def _stream(index: int, codec: str, codec_type: str = "subtitle", **tags: str) -> dict:
    return {"index": index, "codec_type": codec_type, "codec_name": codec, "tags": tags}


def _probe(*subtitles: dict, seconds: float = 12.5) -> Probe:
    video = {"index": 0, "codec_type": "video", "codec_name": "h264", "width": 1280, "height": 720}
    video |= {"avg_frame_rate": "25/1", "r_frame_rate": "25/1", "time_base": "1/12800", "duration": str(seconds)}
    audio = {"index": 1, "codec_type": "audio", "codec_name": "aac", "channels": 2}
    fmt = {"format_name": "matroska,webm", "duration": str(seconds), "size": "1000"}
    return Probe.model_validate({"format": fmt, "streams": [video, audio, *subtitles]})


# --- which tracks, and their names -------------------------------------------------------------------------------


def test_text_tracks_are_carried_in_stream_order_and_bitmap_ones_are_left_out():
    probe = _probe(
        _stream(2, "subrip", language="eng"),
        _stream(3, "hdmv_pgs_subtitle", language="eng"),
        _stream(4, "ass", language="fre", title="Français (signs)"),
        _stream(5, "dvd_subtitle"),
        _stream(6, "mov_text", language="ger"),
        _stream(7, "dvb_subtitle"),
        _stream(8, "webvtt", language="spa"),
    )
    tracks = text_tracks(probe)
    assert [(t.number, t.stream, t.codec) for t in tracks] == [
        (0, 2, "subrip"),
        (1, 4, "ass"),
        (2, 6, "mov_text"),
        (3, 8, "webvtt"),
    ]
    assert [(t.name, t.language) for t in tracks] == [
        ("English", "en"),
        ("Français (signs)", "fr"),
        ("German", "de"),
        ("Spanish", "es"),
    ]
    assert [t.playlist for t in tracks][:2] == ["subs/0/index.m3u8", "subs/1/index.m3u8"]
    assert tracks[0].track == "subs/0/subtitles.vtt"


def test_a_video_without_text_tracks_carries_none():
    assert text_tracks(_probe()) == []
    assert text_tracks(_probe(_stream(2, "hdmv_pgs_subtitle"), _stream(3, "aac", "audio", language="eng"))) == []


@pytest.mark.parametrize(
    ("tags", "name", "language"),
    [
        ({"language": "eng"}, "English", "en"),
        ({"LANGUAGE": "fre"}, "French", "fr"),  # tag names in any case
        ({"language": "und"}, "Subtitles 1", None),  # undetermined: no LANGUAGE
        ({}, "Subtitles 1", None),
        ({"language": "pt-BR"}, "Portuguese (BR)", "pt-BR"),  # already a BCP 47 tag (Matroska's)
        ({"language": "haw"}, "Hawaiian", "haw"),  # no two-letter code: the three letters are the tag
        ({"language": "xx!"}, "Subtitles 1", None),  # not a tag at all
        ({"language": "eng", "title": '  Director\'s "cut"\r\ncommentary\t'}, "Director's 'cut' commentary", "en"),
        ({"language": "eng", "title": "\n\t "}, "English", "en"),  # a blank title: the language's name
    ],
)
def test_a_track_is_named_by_its_title_else_its_language_else_its_place(tags, name, language):
    [track] = text_tracks(_probe(_stream(2, "subrip", **tags)))
    assert (track.name, track.language) == (name, language)


def test_names_are_unique_one_default_at_most_and_a_forced_track_says_so():
    forced = _stream(3, "subrip", language="eng") | {"disposition": {"forced": 1, "default": 1}}
    probe = _probe(
        _stream(2, "subrip", language="eng") | {"disposition": {"default": 1}},
        forced,
        _stream(4, "subrip", language="eng"),
        _stream(5, "subrip", language="eng", title="english"),
    )
    tracks = text_tracks(probe)
    assert [t.name for t in tracks] == ["English", "English (forced)", "English (2)", "english (3)"]
    assert [(t.default, t.forced) for t in tracks] == [(True, False), (False, True), (False, False), (False, False)]


def test_a_long_title_is_cut_to_one_short_line():
    assert clean_name("x" * 500) == "x" * 60
    assert clean_name("a\u2028b\x00c") == "a b c"


@pytest.mark.parametrize(
    ("raw", "tag", "name"),
    [
        ("eng", "en", "English"),
        ("chi", "zh", "Chinese"),
        ("zho", "zh", "Chinese"),
        ("ger", "de", "German"),
        ("zh_hant_tw", "zh-Hant-TW", "Chinese (TW)"),
        ("mis", None, None),
        ("zxx", None, None),
        ("", None, None),
    ],
)
def test_iso_639_2_becomes_the_rfc_5646_tag_hls_wants(raw: str, tag: str | None, name: str | None):
    assert rfc5646(raw) == tag
    assert english_name(tag) == name


def test_a_plan_made_before_subtitles_existed_still_parses(world: World):
    document = world.plan().model_dump(mode="json")
    assert [t["name"] for t in document.pop("subtitles")] == ["English", "French"]
    assert Plan.model_validate(document).subtitles == []


# --- the HLS text ------------------------------------------------------------------------------------------------

VARIANTS = [
    hls.Variant("720p/index.m3u8", 1280, 720, 3_000_000, 2_000_000, "avc1.64001f,mp4a.40.2", 25.0),
    hls.Variant("480p/index.m3u8", 854, 480, 1_500_000, 1_000_000, "avc1.64001e,mp4a.40.2", 25.0),
]


def test_the_master_lists_each_subtitle_rendition_and_every_variant_names_the_group():
    subtitles = [
        hls.SubtitleRendition("subs/0/index.m3u8", "English", "en", default=True),
        hls.SubtitleRendition("subs/1/index.m3u8", 'Signs "only"\nplease', None, forced=True),
    ]
    master = hls.master_playlist(VARIANTS, "audio/index.m3u8", subtitles)
    lines = master.splitlines()
    assert [line for line in lines if "TYPE=SUBTITLES" in line] == [
        '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,'
        'URI="subs/0/index.m3u8"',
        '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Signs \'only\' please",DEFAULT=NO,AUTOSELECT=YES,'
        'FORCED=YES,URI="subs/1/index.m3u8"',
    ]
    variants = [line for line in lines if line.startswith("#EXT-X-STREAM-INF:")]
    assert len(variants) == 2 and all(line.endswith(',AUDIO="audio",SUBTITLES="subs"') for line in variants)
    # every EXT-X-MEDIA comes before the variants that refer to its group
    assert max(i for i, line in enumerate(lines) if line.startswith("#EXT-X-MEDIA")) < lines.index(variants[0])


def test_a_master_without_subtitles_names_no_subtitles_group():
    master = hls.master_playlist(VARIANTS, "audio/index.m3u8")
    assert "SUBTITLES" not in master
    assert master == hls.master_playlist(VARIANTS, "audio/index.m3u8", [])


def test_a_subtitle_playlist_is_one_segment_over_the_whole_video():
    assert hls.subtitles_playlist("subtitles.vtt", 12.5) == (
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:13\n#EXT-X-PLAYLIST-TYPE:VOD\n"
        "#EXTINF:12.500000,\nsubtitles.vtt\n#EXT-X-ENDLIST\n"
    )


def test_the_served_webvtt_states_that_its_cue_times_are_the_media_s_own():
    assert hls.subtitle_track(VTT) == VTT.replace("WEBVTT\n", "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n")
    # a header of its own is kept (an old map replaced), a BOM and CR line ends are dropped
    given = "\ufeffWEBVTT - from a file\r\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000\r\nKind: captions\r\n\r\n"
    assert hls.subtitle_track(given + "00:01.000 --> 00:02.000\r\nHi\r\n") == (
        "WEBVTT - from a file\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\nKind: captions\n\n"
        "00:01.000 --> 00:02.000\nHi\n"
    )
    for text in ("1\n00:00:01,000 --> 00:00:02,000\nan SRT file\n", "WEBVTTX\n", ""):
        with pytest.raises(hls.NotWebVtt):
            hls.subtitle_track(text)


# --- the assembly ------------------------------------------------------------------------------------------------


@pytest.fixture
def world(tmp_path: Path, chunk_file: Path) -> World:
    storage = FakeStorage({("uploads", SOURCE_KEY): "etag-1"})
    probe = _probe(
        _stream(2, "subrip", language="eng"),
        _stream(3, "hdmv_pgs_subtitle", language="eng"),
        _stream(4, "ass", language="fre"),
    )
    media = FakeMedia(probe, chunk_file=chunk_file)
    publisher, tombstones = FakePublisher(), FakeTombstones()
    config = WorkflowConfig(output_bucket=BUCKET, work_dir=tmp_path / "work", grid=GRID)
    deps = WorkflowDeps(storage, publisher, media, tombstones, config, clock=lambda: STARTED)
    return World(storage, publisher, media, tombstones, deps)


def _text(world: World, key: str) -> str:
    return world.storage.objects[(BUCKET, key)][0].decode()


def test_each_text_track_becomes_a_webvtt_rendition_read_from_the_source_once(world: World):
    # Given a source with two text tracks and a bitmap one, which ffmpeg converts
    world.media.subtitles = {2: VTT, 4: VTT.replace("Hello", "Bonjour")}

    # When the workflow runs
    result = world.run()

    # Then both text tracks were extracted in one read and are in the master, the bitmap one is not
    assert result["status"] == "published" and "subtitles_left_out" not in result
    assert world.media.extractions == [[2, 4]]
    [event] = [e for e in world.publisher.published if isinstance(e, VideoTranscoded)]
    prefix = event.stream.master.removesuffix("master.m3u8")
    master = _text(world, event.stream.master)
    assert 'NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,URI="subs/0/index.m3u8"' in master
    assert 'NAME="French",LANGUAGE="fr",DEFAULT=NO,AUTOSELECT=YES,URI="subs/1/index.m3u8"' in master
    assert master.count('SUBTITLES="subs"') == 2 and master.count("TYPE=SUBTITLES") == 2
    assert _text(world, f"{prefix}subs/0/index.m3u8") == hls.subtitles_playlist("subtitles.vtt", 12.5)
    assert _text(world, f"{prefix}subs/1/subtitles.vtt") == hls.subtitle_track(VTT.replace("Hello", "Bonjour"))
    assert world.storage.objects[(BUCKET, f"{prefix}subs/0/subtitles.vtt")][1] == "text/vtt"


def test_a_track_that_cannot_be_extracted_is_left_out_and_the_video_is_published_without_it(world: World):
    # Given a source whose first text track ffmpeg cannot convert
    world.media.subtitles = {4: VTT}

    # When the workflow runs
    result = world.run()

    # Then the tracks were tried together, then one by one; the good one is carried, the bad one said in the result
    assert world.media.extractions == [[2, 4], [2], [4]]
    assert result["status"] == "published"
    assert result["subtitles_left_out"] == ["stream 2 (subrip, English): Subtitle encoding failed"]
    [event] = [e for e in world.publisher.published if isinstance(e, VideoTranscoded)]
    master = _text(world, event.stream.master)
    assert master.count("TYPE=SUBTITLES") == 1 and 'NAME="French"' in master and 'URI="subs/1/index.m3u8"' in master
    assert not any("/subs/0/" in key for key in world.storage.keys(BUCKET))
    # and the task's log line says so
    message = TaskMessage(task="assemble", token="t", input={})
    assert message.describe(result)["subtitles_left_out"] == result["subtitles_left_out"]


@pytest.mark.parametrize(
    ("written", "why"),
    [("WEBVTT\n\n", "no cues"), ("not a subtitle file --> at all", "the file does not begin with WEBVTT")],
)
def test_a_track_with_no_cues_or_not_webvtt_is_left_out(world: World, written: str, why: str):
    world.media.subtitles = {2: written, 4: VTT}
    result = world.run()
    assert result["subtitles_left_out"] == [f"stream 2 (subrip, English): {why}"]
    [event] = [e for e in world.publisher.published if isinstance(e, VideoTranscoded)]
    assert _text(world, event.stream.master).count("TYPE=SUBTITLES") == 1


def test_no_track_carried_means_a_master_without_the_group(world: World):
    world.media.subtitles = {}
    result = world.run()
    assert len(result["subtitles_left_out"]) == 2
    [event] = [e for e in world.publisher.published if isinstance(e, VideoTranscoded)]
    assert "SUBTITLES" not in _text(world, event.stream.master)


def test_a_source_gone_by_the_assembly_leaves_the_subtitles_out_not_the_video(world: World):
    world.media.subtitles = {2: VTT, 4: VTT}
    the_plan = world.plan()
    encode_every_chunk(the_plan, world.deps)
    encoding.encode_audio(the_plan, world.deps)
    world.storage.sources.clear()
    result = assembly.assemble(the_plan, world.deps)
    assert result["status"] == "published" and world.media.extractions == []
    assert [why.split(": ", 1)[1] for why in result["subtitles_left_out"]] == [
        "the source cannot be read: s3://uploads/uploads/alice/vid00001/holiday clip.mp4 does not exist"
    ] * 2


def test_a_subtitle_track_model_forbids_unknown_fields():
    with pytest.raises(ValueError):
        SubtitleTrack.model_validate(
            {"number": 0, "stream": 2, "codec": "subrip", "name": "x", "language": None, "colour": "red"}
        )
