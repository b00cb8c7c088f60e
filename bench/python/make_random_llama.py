#!/usr/bin/env python3
"""A randomly initialised LLaMA with Llama-3.2-1B's layer shape (d 2048, I 8192, 32 heads, 8 KV
heads, head_dim 64, tied embeddings) but fewer layers and SmolLM2's tokenizer (vocabulary 49152),
saved float32 as one safetensors file, for bench/prune.ts: big layers make the streaming claim
(peak memory ~ one layer + activations, not the model) measurable on a small machine.

  make_random_llama.py --out DIR --layers 8 --tokenizer-from SMOLLM2_DIR [--threads N]
"""
import argparse
import shutil
from pathlib import Path

import torch
import transformers


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--tokenizer-from", required=True)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=49152,
        hidden_size=2048,
        intermediate_size=8192,
        num_hidden_layers=a.layers,
        num_attention_heads=32,
        num_key_value_heads=8,
        head_dim=64,
        max_position_embeddings=8192,
        rms_norm_eps=1e-5,
        rope_theta=500000.0,
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
    )
    model = transformers.LlamaForCausalLM(config).to(torch.float32)
    out = Path(a.out)
    model.save_pretrained(out, safe_serialization=True, max_shard_size="100GB")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(Path(a.tokenizer_from) / name, out / name)
    print(sum(p.numel() for p in model.parameters()))


if __name__ == "__main__":
    main()
