"""The core stays platform-neutral: nothing under bot/ or storage/ imports a chat platform."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLATFORMS = ("discord", "slack_bolt", "slack_sdk")


def test_core_never_imports_a_platform() -> None:
    offenders = []
    for folder in ("bot", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in PLATFORMS]
    assert offenders == []


def test_data_flows_one_way_from_the_engine_down() -> None:
    """The games, the info commands and their services never import the engine that routes to them."""
    below = [ROOT / "bot" / "services.py", ROOT / "bot" / "info.py", *(ROOT / "bot" / "games").glob("*.py")]
    offenders = []
    for path in below:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in ("bot.engine", "bot.app"):
                offenders.append(f"{path.relative_to(ROOT)}: {node.module}")
    assert offenders == []
