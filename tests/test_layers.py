"""The layers show in the folders and import only downwards.

Bottom to top: domain values and errors; pure analysis and digest composition; feeds (I/O);
storage; the application; the chat service (handlers); channels; the CLI (bot.py). A module
may import its own folder and any folder below it, never one above. Function-local imports
count too: an import is an import wherever it stands.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("domain", "analysis", "digests", "feeds", "storage", "app", "handlers", "channels")
RANK = {name: i for i, name in enumerate((*LAYERS, "bot"))}
PURE = ("domain", "analysis", "digests")
IMPURE_LIBRARIES = {
    "sqlite3",
    "sqlite_utils",
    "httpx",
    "telegram",
    "aiohttp",
    "apscheduler",
    "socket",
    "urllib.request",
    "requests",
    "subprocess",
    "protego",
    "trafilatura",
    "charset_normalizer",
}


def _impure(module: str) -> bool:
    """Whether ``module`` is, or is inside, one of ``IMPURE_LIBRARIES``."""
    parts = module.split(".")
    return any(".".join(parts[:i]) in IMPURE_LIBRARIES for i in range(1, len(parts) + 1))


def _modules() -> list[Path]:
    files = [ROOT / "bot.py"]
    for layer in LAYERS:
        files.extend(sorted((ROOT / layer).rglob("*.py")))
    return files


def _layer(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return "bot" if rel.name == "bot.py" and len(rel.parts) == 1 else rel.parts[0]


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _edges() -> list[tuple[Path, int, str, str]]:
    """(file, line, importing layer, imported layer) for every import of a project layer."""
    edges = []
    for path in _modules():
        here = _layer(path)
        for line, module in _imports(path):
            top = module.split(".")[0]
            if top in RANK:
                edges.append((path, line, here, top))
    return edges


def test_layers_import_only_downwards() -> None:
    upward = [
        f"{path.relative_to(ROOT)}:{line}: {here} imports {there}"
        for path, line, here, there in _edges()
        if RANK[there] > RANK[here]
    ]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_cycle_between_layers() -> None:
    graph: dict[str, set[str]] = {}
    for _, _, here, there in _edges():
        if here != there:
            graph.setdefault(here, set()).add(there)
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*trail, node, nxt]
            if nxt not in state and (cycle := visit(nxt, [*trail, node])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start, [])
            assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("layer", PURE)
def test_pure_layers_do_no_io(layer: str) -> None:
    """Analysis, composition and the domain import no database, network or chat library."""
    offending = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        for line, module in _imports(path)
        if _impure(module)
    ]
    assert not offending, "\n".join(offending)


def test_the_io_list_covers_network_and_process_libraries() -> None:
    for module in ("socket", "urllib.request", "requests.adapters", "subprocess", "protego"):
        assert _impure(module), module
    for module in ("trafilatura", "charset_normalizer.api"):
        assert _impure(module), module
    assert not _impure("urllib.parse") and not _impure("re")


def test_channels_do_not_touch_storage() -> None:
    """A channel gets what it needs (a service, a replay guard) from app/, never SQLite."""
    offending = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in sorted((ROOT / "channels").rglob("*.py"))
        for line, module in _imports(path)
        if module.split(".")[0] == "storage"
    ]
    assert not offending, "\n".join(offending)


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    """The walk finds imports inside functions too, so the rule cannot be dodged."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from storage import Storage\n    return Storage\n")
    assert (2, "storage") in _imports(probe)
