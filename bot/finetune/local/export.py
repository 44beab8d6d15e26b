"""``finetune export JOB --merge OUT``: the base model with the adapter folded in, for servers without LoRA.

The merged folder is a plain transformers model (weights as safetensors, config, tokenizer), which
transformers-based servers load as it is and llama.cpp's ``convert_hf_to_gguf.py`` turns into a GGUF
file for llama.cpp or Ollama.
"""

from __future__ import annotations

import os
from pathlib import Path

from bot.finetune.errors import FinetuneError
from bot.finetune.local.jobs import LocalJob


def merge(job: LocalJob, out: Path) -> Path:
    """Write the merged model to ``out`` (blocking, loads the model: call it in a thread)."""
    if job.status != "succeeded":
        raise FinetuneError(f"Local job {job.id} is {job.status}; only a finished job has an adapter to merge.")
    if out.exists() and any(out.iterdir()):
        raise FinetuneError(f"{out} is not empty; choose a new folder for the merged model.")
    if not job.allow_download:
        os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor, AutoTokenizer
    except ImportError as exc:
        raise FinetuneError(
            f"Merging needs the training extra ({exc.name} is missing): pip install 'catchbot[train]'."
        ) from None
    vision = job.kind == "vision"
    loader = AutoModelForImageTextToText if vision else AutoModelForCausalLM
    try:
        base = loader.from_pretrained(job.base)
        processing = (AutoProcessor if vision else AutoTokenizer).from_pretrained(job.adapter_dir)
        merged = PeftModel.from_pretrained(base, job.adapter_dir).merge_and_unload()
    except OSError as exc:
        raise FinetuneError(f"Cannot load {job.base} with its adapter: {str(exc).splitlines()[0]}") from None
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(out.as_posix())
    processing.save_pretrained(out.as_posix())
    return out
