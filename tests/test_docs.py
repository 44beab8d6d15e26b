"""The README documents every setting and every locale speaks both languages."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from pydantic import AliasChoices

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        env = alias.choices[0] if isinstance(alias, AliasChoices) else f"CATCHBOT_{name.upper()}"
        assert f"`{env}`" in readme, f"{env} is not documented in README.md"


def test_both_locales_have_the_same_keys() -> None:
    folder = resources.files("bot.locales")
    english = {p.name for p in folder.joinpath("en").iterdir() if p.name.endswith(".json")}
    korean = {p.name for p in folder.joinpath("ko").iterdir() if p.name.endswith(".json")}
    assert english == korean
    for name in english:
        en = json.loads(folder.joinpath("en", name).read_text(encoding="utf-8"))
        ko = json.loads(folder.joinpath("ko", name).read_text(encoding="utf-8"))
        # Counted messages: English has key_one and key_other, Korean (no plural) only key_other.
        en_keys = {k for k in en if not (k.endswith("_one") and k.removesuffix("_one") + "_other" in en)}
        assert en_keys == set(ko), f"{name}: keys differ: {en_keys ^ set(ko)}"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index("Run the whole test suite") :]
    command = block.split("```sh\n", 1)[1].split("\n```", 1)[0].strip()
    ci = [line for line in (root / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci[-1] == command  # and nothing before it installs anything
    assert not any("apt-get" in line or "pip install" in line for line in ci[:-1])
