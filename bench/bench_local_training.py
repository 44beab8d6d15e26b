"""How fast local LoRA training runs here (issue 12), measured on tiny models and extrapolated openly.

Times TRL SFT steps with a LoRA adapter on randomly initialised Llama models of growing size (built
from a config, nothing downloaded), on the device this machine has, then extrapolates to a 0.5B base
(Qwen2.5-0.5B-Instruct) on a few thousand dialect pairs.

The extrapolation assumes what the measurements show and states it: step time grows about linearly
with the parameters a token passes through (forward and backward over the frozen base dominate; the
adapter is tiny), and with the tokens per step. It fits time = a + b * params over the measured sizes
and reads it at 0.5B. It ignores memory limits, kernel efficiency at larger widths (which favours the
big model on a GPU) and data loading. On a GPU, measure instead of extrapolating: run this script there.

    python3 bench/bench_local_training.py [--steps 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAIRS = [
    ("혼저 옵서", "어서 오세요"),
    ("하영 먹읍서", "많이 드세요"),
    ("니 어데 가노", "너 어디 가니"),
    ("억수로 덥다", "굉장히 덥다"),
]
SIZES = [(64, 2), (256, 4), (512, 6), (768, 8), (1024, 8)]  # (hidden size, layers)
TARGET_PARAMS = 494e6  # Qwen2.5-0.5B
PAIRS_IN_RUN = 3000
EPOCHS = 3
BATCH = 4


def time_steps(base: Path, data: Path, steps: int) -> tuple[float, float]:
    """Median seconds per step and tokens per step, through the same trainer set-up as a local job."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from bot.finetune.local.data import read_examples

    examples, _ = read_examples(data)
    marks: list[float] = []
    tokens: list[float] = []

    class Clock(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            marks.append(time.perf_counter())

        def on_log(self, args, state, control, logs=None, **kwargs):  # type: ignore[no-untyped-def]
            if logs and "num_tokens" in logs:
                tokens.append(float(logs["num_tokens"]))

    with tempfile.TemporaryDirectory() as out:
        trainer = SFTTrainer(
            model=AutoModelForCausalLM.from_pretrained(base),
            args=SFTConfig(
                output_dir=out, max_steps=steps, per_device_train_batch_size=BATCH, logging_steps=1,
                save_strategy="no", report_to="none", disable_tqdm=True, assistant_only_loss=True,
                learning_rate=1e-3, use_cpu=not torch.cuda.is_available(),
            ),
            train_dataset=Dataset.from_list(examples),
            processing_class=AutoTokenizer.from_pretrained(base),
            peft_config=LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM"),
            callbacks=[Clock()],
        )  # fmt: skip
        from transformers import PrinterCallback

        trainer.remove_callback(PrinterCallback)  # the figures below are the report
        start = time.perf_counter()
        trainer.train()
    gaps = [b - a for a, b in zip([start, *marks], marks, strict=False)][2:]  # skip warm-up steps
    per_step_tokens = tokens[-1] / steps if tokens else float("nan")
    return statistics.median(gaps), per_step_tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    import torch

    from bot.ai.players import dialect_messages
    from bot.config import load_settings
    from tests.tiny_models import build_tiny_model

    settings = load_settings(env_file=None)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"device: {device}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "train.jsonl"
        lines = [
            json.dumps({"messages": [*dialect_messages(settings, d), {"role": "assistant", "content": s}]})
            for d, s in PAIRS * 8
        ]
        data.write_text("\n".join(lines) + "\n", encoding="utf-8")
        for hidden, layers in SIZES:
            folder = Path(tmp) / f"m{hidden}"
            params = build_tiny_model(folder, [t for p in PAIRS for t in p] * 10, hidden=hidden, layers=layers)
            seconds, tokens = time_steps(folder, data, args.steps)
            results.append((params, seconds))
            print(
                f"{params / 1e6:7.2f}M params: {seconds * 1000:7.1f} ms/step, "
                f"{tokens:.0f} tokens/step, {tokens / seconds:,.0f} tokens/s"
            )
    # Least-squares line through (params, seconds per step).
    xs, ys = [p for p, _ in results], [s for _, s in results]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
    intercept = my - slope * mx
    step = intercept + slope * TARGET_PARAMS
    steps = PAIRS_IN_RUN * EPOCHS / BATCH
    print(f"fit: {intercept * 1000:.1f} ms + {slope * 1e9:.2f} ms per million params per step")
    print(
        f"extrapolated to 0.5B on this {device}: {step:.1f} s/step; {PAIRS_IN_RUN:,} pairs x {EPOCHS} epochs "
        f"at batch {BATCH} = {steps:,.0f} steps = {step * steps / 3600:.1f} h"
    )


if __name__ == "__main__":
    main()
