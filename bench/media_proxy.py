"""How long the desk's media proxy takes to answer a customer's file: first view (fetched from the
fake Graph API: lookup + download + cache write) against later views (from the disk cache).

    .venv/bin/python bench/media_proxy.py --size 1000000 --files 20 --views 5

Each file is a distinct WhatsApp media id of ``--size`` bytes (a PNG header then zeros) in one
handoff; the signed-in agent loads each ``--views`` times.  Prints medians and p95 in ms.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import List

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.bot.agent_desk.test_media_proxy import desk_with_whatsapp, media_event  # noqa: E402
from tests.bot.agent_desk.conftest import login  # noqa: E402
from tests.fakes.fake_graph import FakeGraph, serving  # noqa: E402


def _p95(values: List[float]) -> float:
    return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]


async def run(size: int, files: int, views: int) -> None:
    body = b"\x89PNG\r\n\x1a\n" + b"\0" * (size - 8)
    async with serving(FakeGraph()) as graph:
        with tempfile.TemporaryDirectory() as folder:
            async with desk_with_whatsapp(Path(folder), graph) as desk:
                events = []
                for n in range(files):
                    graph.add_media(f"bench-{n}", body, "image/png")
                    events.append(media_event("", f"bench-{n}", "image/png", "image"))
                record = await desk.create_handoff("971500009999", events=events)
                await login(desk.session, desk.url(""), "noura@example.com")
                async with desk.session.get(desk.url(f"/api/v1/handoffs/{record.public_id}")) as answer:
                    ids = [m["media_id"] for t in (await answer.json())["context"]["transcript"]
                           for m in t.get("media") or []]
                first, later = [], []
                for media_id in ids:
                    for view in range(views):
                        start = time.perf_counter()
                        async with desk.session.get(desk.url(f"/api/v1/media/{media_id}")) as answer:
                            assert answer.status == 200 and len(await answer.read()) == size
                        (first if view == 0 else later).append((time.perf_counter() - start) * 1000)
                calls = len(graph.media_calls())
    print(f"{files} files of {size} bytes, {views} views each")
    print(f"first view (provider fetch + cache write): median {statistics.median(first):.1f} ms, p95 {_p95(first):.1f} ms")
    print(f"later views (disk cache):                  median {statistics.median(later):.1f} ms, p95 {_p95(later):.1f} ms")
    print(f"Graph calls: {calls} (2 per file: lookup + download; none for cached views)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--views", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.size, args.files, args.views))


if __name__ == "__main__":
    main()
