"""Run the benchmark suite and write ``docs/benchmarks.md``.

    python -m bench.run                  # full: 20k ingest, 100k stories (about 12 minutes)
    python -m bench.run --quick          # small sizes, under a minute: bench/out/...-quick.md
    python -m bench.run --only search    # one benchmark; the report keeps the others' last run
    python -m bench.run --report-only    # rewrite the report from the saved results

Each benchmark runs in its own process (so peak memory is its own) and saves its figures to
``bench/out/result-{quick,full}-NAME.json``; the report is rendered from those files. The
folder is not in git: where some benchmark's results are missing (a fresh clone, an
``--only`` run), the full report is written to ``bench/out/benchmarks-partial.md`` instead of
``docs/benchmarks.md``, whose other sections it would drop.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import OUT, result_path
from bench.report import render

NAMES = ("ingest", "dedup", "search", "digests", "peak", "footprint")
# dedup builds the database that search and footprint reuse
ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
LIBRARIES = (
    "jieba",
    "rjieba",
    "OpenCC",
    "numpy",
    "feedparser",
    "inscriptis",
    "sqlite-utils",
    "python-telegram-bot",
    "matplotlib",
)


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    ram = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    from storage.db import Database

    memory = Database(":memory:")
    sqlite_version = str(memory.scalar("SELECT sqlite_version()"))
    memory.close()
    versions = []
    for name in LIBRARIES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return {
        "CPU": cpu,
        "cores (nproc)": str(os.cpu_count()),
        "RAM": ram,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "SQLite": sqlite_version,
        "libraries": ", ".join(versions),
    }


def run_one(name: str, quick: bool) -> int:
    command = [sys.executable, "-m", f"bench.{name}", *(["--quick"] if quick else [])]
    print(f"== {name}: {' '.join(command[1:])}", flush=True)
    start = time.perf_counter()
    code = subprocess.call(command, cwd=ROOT)
    print(f"== {name}: exit {code} after {time.perf_counter() - start:.0f} s", flush=True)
    return code


def load(quick: bool) -> dict[str, dict[str, Any]]:
    found = {}
    for name in NAMES:
        path = result_path(name, quick)
        if path.exists():
            found[name] = json.loads(path.read_text(encoding="utf-8"))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    parser.add_argument("--only", choices=NAMES, help="run one benchmark")
    parser.add_argument("--report-only", action="store_true", help="only rewrite the report")
    parser.add_argument("--output", type=Path, help="default: docs/benchmarks.md when full")
    args = parser.parse_args(argv)
    failed = 0
    if not args.report_only:
        for name in [args.only] if args.only else NAMES:
            failed += run_one(name, args.quick) != 0
    results = load(args.quick)
    missing = [name for name in NAMES if name not in results]
    # The quick suite is a smoke run: it never overwrites the full report; nor does a
    # report that would lose the sections whose results are not here.
    output = args.output or (
        OUT / "benchmarks-quick.md"
        if args.quick
        else OUT / "benchmarks-partial.md"
        if missing
        else DOC
    )
    if missing and not args.quick and args.output is None:
        print(
            f"no saved results for {', '.join(missing)} in {OUT}: {DOC.name} left as it is;"
            " run them too (or pass --output) to rewrite it",
            file=sys.stderr,
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(results, args.quick, machine()), encoding="utf-8")
    print(f"wrote {output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
