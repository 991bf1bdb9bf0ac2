"""CZT Digest (长株潭一体化快报): entry point and command line.

    python bot.py [--config PATH] [--db PATH] COMMAND ...

Errors print one line to stderr and exit non-zero; nothing already stored is lost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from app.config import load_settings
from app.core import Core, RedactingFilter, setup_logging
from app.ingest import FeedReport, check_local_feed
from domain.errors import CorruptDatabaseError, CztError, FeedError, UserInputError
from feeds.fetch import is_local
from feeds.opml import parse_opml, to_opml
from feeds.webread import SourceSpec

EXIT_ERROR = 2


def cmd_ingest(core: Core, args: argparse.Namespace) -> int:
    store = core.storage
    now = core.now()
    refused: list[FeedReport] = []
    trial: set[int] = set()  # feeds first named here: kept only when their first read works
    if args.feed or args.source:
        feeds = []
        for given in args.feed or ():
            url = _normalise_feed(given)
            known = store.feeds.get(url)
            if known is not None:
                feeds.append(known)
                continue
            try:
                check_local_feed(url, core.fetch_options())
            except FeedError as e:
                refused.append(FeedReport(url=url, error=f"{e} (not added)"))
                continue
            feed, _ = store.feeds.add(url, now)
            trial.add(feed.id)
            feeds.append(feed)
        for url in args.source or ():  # a new one is kept only when its first read works
            spec = _source_spec(url, args).to_json()
            feed, new = store.sources.ensure(url, spec, now, respec=bool(args.links or args.pages))
            if new:
                trial.add(feed.id)
            feeds.append(feed)
    else:
        feeds = store.feeds.active()
    if not feeds and not refused:
        raise UserInputError("no feeds configured: add one with `feeds add URL`")
    ingestor = core.ingestor()
    bar = None
    if sys.stderr.isatty() and not args.quiet:
        from tqdm import tqdm

        bar = tqdm(unit="篇", desc="ingest", leave=False)
    reports = ingestor.ingest(feeds, now, progress=bar.update if bar else None)
    if bar:
        bar.close()
    for feed, report in zip(feeds, reports, strict=True):
        if feed.id in trial and not report.ok:
            store.feeds.remove(feed.url)
            report.error += " (not added)"
    for r in refused + reports:
        if r.ok:
            state = "not modified" if r.not_modified else "ok"
            extra = f", skipped as unrelated {r.skipped}, pages failed {r.failed_pages}"
            print(
                f"{r.url}: {state}, new {r.new}, updated {r.updated}, "
                f"merged duplicates {r.merged}, unchanged {r.unchanged}{extra if r.source else ''}"
            )
        else:
            extra = " (feed disabled)" if r.disabled else ""
            print(f"{r.url}: error: {r.error}{extra}")
    counts = store.articles.counts()
    print(f"total: {counts['articles']} articles in {counts['stories']} stories")
    if not any(r.ok for r in reports):
        print("error: no feed could be read", file=sys.stderr)
        return 1
    return 0


def _source_spec(url: str, args: argparse.Namespace) -> SourceSpec:
    try:
        return SourceSpec(url=url, links=args.links or "", pages=args.pages or "").checked()
    except ValueError as e:
        raise UserInputError(str(e)) from None


def cmd_sources(core: Core, args: argparse.Namespace) -> int:
    """`sources check URL ...`: what a web source would read, storing nothing."""
    from app.sources import check_lines

    reader, failed = core.web_reader(), 0
    for url in args.urls:
        try:
            listing = reader.read_list(_source_spec(url, args), core.now())
        except FeedError as e:
            print(f"{url}: error: {e}")
            failed += 1
            continue
        print("\n".join(check_lines(listing, core.tagger)))
    return 1 if failed == len(args.urls) else 0


def _normalise_feed(url: str) -> str:
    if is_local(url) and not url.startswith("file://"):
        return str(Path(url).resolve())
    return url


def cmd_search(core: Core, args: argparse.Namespace) -> int:
    cities, topics = _filters(core, args.city, args.topic)
    page = core.search(
        " ".join(args.query), cities=cities, topics=topics, limit=args.limit, sort=args.sort
    )
    from channels.printed import print_hits

    return print_hits(page, core.settings.digest.timezone, as_json=args.json)


def _filters(
    core: Core, city: Sequence[str] | None, topic: Sequence[str] | None
) -> tuple[list[str], list[str]]:
    cities, _, bad_c = core.tagger.resolve(city or [])
    _, topics, bad_t = core.tagger.resolve(topic or [])
    bad = bad_c + bad_t + [t for t in topic or [] if t in cities]
    if bad or len(cities) != len(city or []) or len(topics) != len(topic or []):
        names = "、".join(core.taxonomy.city_names + core.taxonomy.topic_names)
        raise UserInputError(f"unknown city or topic: {' '.join(bad) or '?'} (choose from {names})")
    return cities, topics


def _read_input(path: str) -> tuple[str, str]:
    """(title, body) of a text or HTML file, or of standard input for ``-``."""
    if path == "-":
        raw = sys.stdin.buffer.read()
    else:
        try:
            raw = Path(path).read_bytes()
        except FileNotFoundError:
            raise UserInputError(f"file not found: {path}") from None
        except OSError as e:
            raise UserInputError(f"cannot read {path}: {e.strerror}") from None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UserInputError(f"{path}: not UTF-8 or GB18030 text")
    if not text.strip():
        raise UserInputError(f"{path}: empty input")
    lowered = text[:2000].lower()
    if "<html" in lowered or "<body" in lowered or "<p" in lowered:
        import re

        match = re.search(r"<title[^>]*>(.*?)</title>|<h1[^>]*>(.*?)</h1>", text, re.S | re.I)
        title = next((g for g in match.groups() if g), "") if match else ""
        return title.strip(), text
    lines = text.strip().splitlines()
    return lines[0].strip(), "\n".join(lines[1:])


def cmd_analyze(core: Core, args: argparse.Namespace) -> int:
    for path in args.paths:
        title, body = _read_input(path)
        result = core.analyzer.analyze(title, body)
        if args.json:
            print(json.dumps(result.to_json(), ensure_ascii=False))
        else:
            print(f"# {result.title}")
            print(f"城市：{'、'.join(result.cities) or '（无）'}")
            print(f"主题：{'、'.join(result.topics) or '（无）'}")
            print(f"关键词：{'、'.join(result.keywords)}")
            if result.summary:
                print(f"摘要：{result.summary}")
            for f in result.figures:
                print(f"  · {f.describe()}")
    return 0


def cmd_feeds(core: Core, args: argparse.Namespace) -> int:
    from channels.printed import iso

    feeds = core.storage.feeds
    now = core.now()
    if args.action == "list":
        for f in feeds.list():
            state = "active" if f.active else "disabled"
            ok = (
                iso(f.last_success_at, core.settings.digest.timezone)
                if f.last_success_at
                else "never"
            )
            err = f"  last error: {f.last_error}" if f.last_error else ""
            kind = ", web source" if f.is_source else ""
            print(
                f"{f.url}  [{state}, {f.origin}{kind}] {f.title}  last success: {ok}"
                f"  failures: {f.consecutive_failures}{err}"
            )
    elif args.action == "add":
        url = _normalise_feed(args.target)
        _probe(core, url)
        _, changed = feeds.add(url, now)
        print(f"added: {url}" if changed else f"already present: {url}")
    elif args.action == "remove":
        url = _normalise_feed(args.target)
        if not feeds.remove(url):
            raise UserInputError(f"no such feed: {url}")
        print(f"removed: {url}")
    elif args.action == "import":
        try:
            content = Path(args.target).read_bytes()
        except OSError:
            raise UserInputError(f"cannot read OPML file: {args.target}") from None
        entries = parse_opml(content)
        if not entries:
            raise UserInputError(f"{args.target}: no feeds in this OPML file")
        added = sum(1 for url, title in entries if feeds.add(url, now, title)[1])
        print(f"imported {len(entries)} feeds ({added} new)")
    elif args.action == "export":
        sys.stdout.buffer.write(to_opml((f.url, f.title) for f in feeds.list()))
    return 0


def _probe(core: Core, url: str) -> None:
    """Refuse a feed that cannot be fetched and parsed right now (a local file strictly)."""
    try:
        if check_local_feed(url, core.fetch_options()) is None:
            core.probe_feed(url)
    except FeedError as e:
        raise UserInputError(f"cannot use {url}: {e}") from e


def cmd_run(core: Core, args: argparse.Namespace) -> int:
    """Start the bot: Telegram with a token, WeCom/WeChat when configured, else the console."""
    from channels.runner import run_console, run_service, run_telegram

    settings = core.settings
    if settings.telegram.token:
        return asyncio.run(run_telegram(core))
    if settings.wecom.robots or settings.wechat.enabled:
        return asyncio.run(run_service(core))
    return asyncio.run(run_console(core, ingest_first=True))


def cmd_console(core: Core, args: argparse.Namespace) -> int:
    from channels.runner import run_console

    return asyncio.run(run_console(core, ingest_first=args.ingest))


def cmd_digest(core: Core, args: argparse.Namespace) -> int:
    from channels.runner import send_digests

    if args.action == "preview":
        from channels.printed import print_preview

        return print_preview(
            core, subscriptions=args.subscriptions, chat=args.chat, as_json=args.json
        )
    from channels.printed import iso

    report = asyncio.run(send_digests(core, force=args.force))
    if report.locked:
        print("another process is sending digests (it holds the scheduler lock)", file=sys.stderr)
    later = ""
    if report.left and report.next_at is not None:
        later = f" (the first at {iso(max(report.next_at, core.now()), 'UTC')})"
    print(
        f"sent {report.sent}, retried {report.retried}, failed {report.failed}, "
        f"left for later {report.left}{later}"
    )
    return 0 if report.left == 0 and not report.locked else 1


def cmd_progress(core: Core, args: argparse.Namespace) -> int:
    from channels.printed import print_progress

    cities, topics = _filters(core, args.city, args.topic)
    return print_progress(core, cities, topics, as_json=args.json)


EXIT_DAMAGED = 1  # `health`: the integrity check failed


def cmd_health(core: Core, args: argparse.Namespace) -> int:
    """Exit 0 when the database opens and passes SQLite's integrity check, 1 when not."""
    if not core.storage.db.integrity_ok():
        print("error: database integrity check failed", file=sys.stderr)
        return EXIT_DAMAGED
    counts = core.storage.articles.counts()
    print(f"ok: {counts['articles']} articles, {counts['stories']} stories")
    return 0


COMMANDS: dict[str, Callable[[Core, argparse.Namespace], int]] = {
    "ingest": cmd_ingest,
    "search": cmd_search,
    "analyze": cmd_analyze,
    "feeds": cmd_feeds,
    "sources": cmd_sources,
    "run": cmd_run,
    "console": cmd_console,
    "digest": cmd_digest,
    "health": cmd_health,
    "progress": cmd_progress,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bot.py", description="CZT Digest 长株潭一体化快报")
    parser.add_argument("--config", metavar="PATH", help="TOML config file (default: built-in)")
    parser.add_argument("--db", metavar="PATH", help="SQLite database path (overrides config)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="fetch the feeds once and store them")
    p.add_argument("--feed", action="append", metavar="URL_OR_PATH", help="only these feeds")
    p.add_argument(
        "--source", action="append", metavar="URL", help="only these web sources (list pages)"
    )
    p.add_argument("--links", metavar="REGEX", help="web sources: article URLs must match")
    p.add_argument("--pages", metavar="REGEX", help="web sources: further list pages to follow")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("search", help="find stories by Chinese keyword")
    p.add_argument("query", nargs="+")
    p.add_argument("--city", action="append", metavar="C")
    p.add_argument("--topic", action="append", metavar="T")
    p.add_argument("--limit", type=int, default=10, metavar="N")
    p.add_argument(
        "--sort",
        choices=("relevance", "newest"),
        default="relevance",
        help="relevance blended with recency (default) or newest first",
    )
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("analyze", help="run the analysis pipeline on text or HTML files")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, or - for standard input")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser(
        "feeds", help="manage feeds: list | add URL | remove URL | import OPML | export"
    )
    p.add_argument("action", choices=("list", "add", "remove", "import", "export"))
    p.add_argument("target", nargs="?", metavar="URL_OR_FILE")

    p = sub.add_parser("sources", help="web sources: check URL ... prints what would be read")
    p.add_argument("action", choices=("check",))
    p.add_argument("urls", nargs="+", metavar="URL")
    p.add_argument("--links", metavar="REGEX", help="article URLs must match")
    p.add_argument("--pages", metavar="REGEX", help="further list pages to follow, one level")

    sub.add_parser("run", help="start the bot (console chat when no token is configured)")
    p = sub.add_parser("console", help="chat with the bot in this terminal")
    p.add_argument("--ingest", action="store_true", help="ingest the feeds first")

    p = sub.add_parser("digest", help="weekly digests: send the due ones, or preview one")
    p.add_argument("action", choices=("send", "preview"))
    p.add_argument("--force", action="store_true", help="treat every subscriber as due now")
    p.add_argument("--chat", metavar="ID", help="chat to preview (its chat id)")
    p.add_argument(
        "--subscriptions", metavar="TEXT", help='preview for these, e.g. "湘潭 交通, 融城干道"'
    )
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("progress", help="tracked task lists: latest point and history")
    p.add_argument("--city", action="append", metavar="C")
    p.add_argument("--topic", action="append", metavar="T")
    p.add_argument("--json", action="store_true")

    sub.add_parser("health", help="check that the database opens and is consistent")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "feeds" and args.action in ("add", "remove", "import") and not args.target:
        print(f"error: feeds {args.action} needs an argument", file=sys.stderr)
        return EXIT_ERROR
    core = None
    settings = None
    try:
        settings = load_settings(args.config, db_path=args.db)
        setup_logging(settings)
        core = Core(settings)
        return COMMANDS[args.command](core, args)
    except CorruptDatabaseError as e:
        if args.command == "health":
            print(f"error: database integrity check failed: {e}", file=sys.stderr)
            return EXIT_DAMAGED
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except CztError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as e:  # a bug: one line, secrets removed, details in the log
        secrets = settings.secrets() if settings is not None else ()
        logging.getLogger(__name__).debug("unexpected error", exc_info=True)
        message = RedactingFilter(secrets).redact(f"{type(e).__name__}: {e}")
        print(f"error: unexpected {message}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    finally:
        if core is not None:
            core.close()


if __name__ == "__main__":
    sys.exit(main())
