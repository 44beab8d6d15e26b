"""Open-weights bases worth fine-tuning for catchbot's two games, as ``finetune models`` lists them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SuggestedBase:
    model: str  # Hugging Face id (download it once with `huggingface-cli download`, or pass a folder)
    game: str
    size: str
    licence: str
    hardware: str


SUGGESTED_BASES: tuple[SuggestedBase, ...] = (
    SuggestedBase("Qwen/Qwen2.5-0.5B-Instruct", "dialect", "0.5B", "Apache-2.0", "CPU (slow) or any GPU with 4 GB"),
    SuggestedBase("Qwen/Qwen2.5-1.5B-Instruct", "dialect", "1.5B", "Apache-2.0", "a GPU with 8 GB"),
    SuggestedBase("Qwen/Qwen2.5-3B-Instruct", "dialect", "3B", "Qwen Research (non-commercial)", "a GPU with 16 GB"),
    SuggestedBase(
        "HuggingFaceTB/SmolVLM-256M-Instruct", "drawing", "0.26B", "Apache-2.0", "CPU (slow) or any GPU with 4 GB"
    ),
    SuggestedBase("HuggingFaceTB/SmolVLM-500M-Instruct", "drawing", "0.5B", "Apache-2.0", "a GPU with 6 GB"),
    SuggestedBase("Qwen/Qwen2-VL-2B-Instruct", "drawing", "2B", "Apache-2.0", "a GPU with 16 GB"),
)


def format_models() -> str:
    rows = [("model", "game", "size", "licence", "hardware for LoRA training")]
    rows += [(b.model, b.game, b.size, b.licence, b.hardware) for b in SUGGESTED_BASES]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.append("")
    lines.append("Train with: catchbot finetune start FILE.jsonl --backend local --base MODEL_OR_FOLDER")
    return "\n".join(lines)
