"""Local fine-tuning: LoRA adapters trained on this machine with TRL and PEFT (``catchbot[train]``).

Nothing here imports torch, transformers, trl or peft at module level: the bot and every other command
stay light, and only the training process (:mod:`bot.finetune.local.train`) and the export load them.
"""
