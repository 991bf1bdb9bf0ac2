"""Footprint bench: the running bot's memory with 100k stories, and its time to first answer.

A real ``python bot.py --db <copy of the benchmark database> run`` subprocess (built-in
config: the bundled sample feeds, polled at start as in production) with
``TELEGRAM_BOT_TOKEN`` set to the fake's token and ``TELEGRAM_API_BASE_URL`` to a
``tests.fake_botapi.FakeBotAPI`` on 127.0.0.1, so it long-polls the fake. A
"/search 湘潭" is pushed as the process starts; start-up time is from ``Popen`` to the
fake receiving the reply (``sendMessage`` in its journal). Then a few more commands
(searches, /latest, /figures, /subscribe, /digest, a no-hit search that loads the
segmenter), each timed to its reply, and ``VmRSS`` and ``VmHWM`` read from
``/proc/<pid>/status``; then SIGTERM, and the exit code.

The baseline, in the same run: a bare ``python -c "import telegram, jieba"`` process,
its RSS once imported and its time from ``Popen`` to ready. The database is the dedup
bench's (111.5k articles, about 100k stories; quick: 5.7k articles, about 5k), copied so
that the bot's own writes (chats, the sample feeds) leave the shared one untouched. In the
copy every time is shifted so that the newest story is from now and each story was first
seen when it was published (the build stores them all as first seen in 2030): the
commands that read "the last 30 days" then see a month of news (about 5k stories at the
generator's rate of ~180 articles a day), not the whole database.

    python -m bench.footprint [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import OUT, SEED, save_result
from bench.dedup import analyzer, cached, db_path, size_for

ROOT = Path(__file__).resolve().parent.parent
TARGET_RSS_MB = 250.0
TARGET_START_S = 3.0
CHAT = 777_001
COMMANDS = (
    "/search 融城干道",
    "/search 跨市通办",
    "/latest 湘潭",
    "/figures 长沙",
    "/search 潭州大桥",  # no hit as a phrase: retried as its words (loads the segmenter)
    "/subscribe 湘潭 交通",
    "/digest",
    "湘潭 产业",  # plain text in a private chat is a search
    "/search 湘潭",
)


def shift_times(db: Path) -> int:
    """Make the copy's newest story "now" and first_seen = published; returns the shift."""
    con = sqlite3.connect(db)
    try:
        newest = con.execute("SELECT MAX(published) FROM articles").fetchone()[0] or 0
        shift = int(time.time()) - 600 - int(newest)
        with con:
            con.execute(
                "UPDATE articles SET published = published + ?, fetched_at = published + ?",
                (shift, shift),
            )
            con.execute(
                "UPDATE stories SET published = published + ?, first_seen = published + ?,"
                " updated_at = published + ?",
                (shift, shift, shift),
            )
    finally:
        con.close()
    return shift


def status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of ``pid`` in MB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found


def baseline() -> dict[str, float]:
    """A bare interpreter with telegram and jieba imported: RSS and time to ready."""
    code = "import sys, telegram, jieba; print('ready', flush=True); sys.stdin.read()"
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stdin is not None
    proc.stdout.readline()
    ready = time.monotonic() - started
    mem = status(proc.pid)
    proc.stdin.close()
    proc.wait(10)
    return {"start_seconds": ready, "rss_mb": mem["VmRSS"], "hwm_mb": mem["VmHWM"]}


# Where the bot's memory goes: resident size after each step, in one fresh process.
_BREAKDOWN = """
import json, sys
def rss():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * 4096 / 2**20
steps = [('interpreter', rss())]
import telegram.ext, apscheduler.schedulers.asyncio
steps.append(('python-telegram-bot, APScheduler', rss()))
import numpy, matplotlib.figure, matplotlib.backends.backend_agg
steps.append(('numpy, matplotlib (digests.chart)', rss()))
import jieba
steps.append(('import jieba', rss()))
import jieba.analyse
steps.append(('import jieba.analyse (builds its default TF-IDF table)', rss()))
import channels.runner, channels.telegram, handlers.service, app.jobs
steps.append(('the bot modules (rjieba, OpenCC, inscriptis, feedparser, ...)', rss()))
from app.core import Core
from app.config import load_settings
core = Core(load_settings(None, db_path=sys.argv[1]))
steps.append(('Core open', rss()))
core.analyzer.tokenizer.words('长株潭')
steps.append(('segmenter dictionary (Tokenizer.words)', rss()))
from analysis.tokenizer import _idf
_idf()
steps.append(('keyword IDF table (analysis.tokenizer._idf)', rss()))
core.analyzer.analyze('湘潭', '<p>湘潭融城干道完成任务30项。</p>')
steps.append(('first analysis (OpenCC, figures)', rss()))
print(json.dumps(steps))
"""


def breakdown(db: Path) -> list[tuple[str, float]]:
    """Resident MB after each import and load the bot does, measured in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", _BREAKDOWN, str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    steps = json.loads(out.strip().splitlines()[-1])
    return [(name, mb) for name, mb in steps]


def run_bot(db: Path, log: Path) -> dict[str, Any]:
    from tests.fake_botapi import TOKEN, FakeBotAPI

    fake = FakeBotAPI().start_in_thread()
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "bot.py", "--db", str(db), "run"]
    replies: list[dict[str, Any]] = []
    try:
        with log.open("w") as out:
            started = time.monotonic()
            proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
            try:
                fake.push_message(CHAT, "/search 湘潭")
                first = fake.wait_for_sent_sync(CHAT, 1, timeout=120)[0]
                polls = fake.calls("getUpdates")
                first_poll = polls[0].time - started if polls else float("nan")
                start_seconds = first.time - started
                for text in COMMANDS:
                    count = len(fake.sent(CHAT))
                    pushed = time.monotonic()
                    fake.push_message(CHAT, text)
                    sent = fake.wait_for_sent_sync(CHAT, count + 1, timeout=60)
                    replies.append(
                        {
                            "command": text,
                            "ms": (sent[count].time - pushed) * 1000,
                            "rss_mb": status(proc.pid)["VmRSS"],
                        }
                    )
                time.sleep(2.0)  # let the start-up feed poll and digest tick settle
                mem = status(proc.pid)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    code = proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    code = proc.wait(5)
    finally:
        fake.stop_thread()
    return {
        "start_seconds": start_seconds,
        "first_poll_seconds": first_poll,
        "rss_mb": mem["VmRSS"],
        "hwm_mb": mem["VmHWM"],
        "replies": replies,
        "exit_code": code,
    }


def run(quick: bool, seed: int = SEED) -> dict[str, Any]:
    n = size_for(quick)
    info = cached(seed, n, analyzer())
    source = db_path(seed, n)
    copy = OUT / "footprint.db"
    for stale in (copy, Path(f"{copy}-wal"), Path(f"{copy}-shm")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(source, copy)
    shift_times(copy)
    base = baseline()
    print(f"  footprint: baseline {base['rss_mb']:.0f} MB, {base['start_seconds']:.2f} s")
    bot = run_bot(copy, OUT / f"footprint-{'quick' if quick else 'full'}.log")
    print(
        f"  footprint: bot {bot['rss_mb']:.0f} MB (peak {bot['hwm_mb']:.0f} MB),"
        f" first answer after {bot['start_seconds']:.2f} s",
        flush=True,
    )
    steps = breakdown(OUT / "footprint-breakdown.db")
    for stale in (copy, Path(f"{copy}-wal"), Path(f"{copy}-shm")):
        stale.unlink(missing_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{OUT / 'footprint-breakdown.db'}{suffix}").unlink(missing_ok=True)
    return {
        "articles": info["stored_articles"],
        "stories": info["stories"],
        "db_mb": info["db_mb"],
        "baseline": base,
        "bot": bot,
        "breakdown": steps,
        "target_rss_mb": TARGET_RSS_MB,
        "target_start_seconds": TARGET_START_S,
        "rss_met": bot["rss_mb"] <= TARGET_RSS_MB,
        "start_met": bot["start_seconds"] <= TARGET_START_S,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.footprint")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    result = run(args.quick, args.seed)
    path = save_result("footprint", args.quick, result)
    print(f"footprint: {result['bot']['rss_mb']:.0f} MB -> {path}")


if __name__ == "__main__":
    main()
