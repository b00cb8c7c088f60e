#!/usr/bin/env python3
"""PyTorch side of bench/engine.ts: seconds per forward pass of transformers on one prompt.

  engine_forward.py --model DIR --lengths 128,512,2048 --repeats 3 --threads N [--decode-prompt 128 --decode-steps 32]

Float32 on CPU, batch 1, full logits [1, T, V] (what our logits() returns), no KV cache, under
torch.inference_mode(); transformers' default attention (sdpa), its fastest CPU path. Token ids
follow the same formula as the TypeScript side. One untimed warm-up per length.
Decode (--decode-steps > 0): the prompt's forward with use_cache=True, then one greedy token per step
on transformers' DynamicCache, each step timed (logits of the new position only, as ours returns);
one untimed warm-up run, then --repeats runs.
Prints one JSON line: {"versions", "attn_implementation", "load_seconds", "lengths": {T: [s, ...]},
"decode": [[step seconds of run 1], ...]}.
"""
import argparse
import json
import time
import warnings

warnings.filterwarnings("ignore")

import torch  # noqa: E402
import transformers  # noqa: E402

transformers.logging.set_verbosity_error()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--lengths", required=True)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--decode-prompt", type=int, default=128)
    p.add_argument("--decode-steps", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    start = time.perf_counter()
    model = transformers.AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32).eval()
    load_seconds = time.perf_counter() - start
    vocab = model.config.vocab_size
    out = {}
    with torch.inference_mode():
        for T in (int(x) for x in a.lengths.split(",")):
            ids = torch.tensor([[(t * 7919 + 13) % vocab for t in range(T)]])
            model(input_ids=ids, use_cache=False)
            times = []
            for _ in range(a.repeats):
                t0 = time.perf_counter()
                model(input_ids=ids, use_cache=False)
                times.append(time.perf_counter() - t0)
            out[str(T)] = times

        def decode_run() -> list[float]:
            ids = torch.tensor([[(t * 7919 + 13) % vocab for t in range(a.decode_prompt)]])
            result = model(input_ids=ids, use_cache=True)
            steps = []
            for _ in range(a.decode_steps):
                token = result.logits[:, -1].argmax(-1, keepdim=True)
                t0 = time.perf_counter()
                result = model(input_ids=token, past_key_values=result.past_key_values, use_cache=True)
                steps.append(time.perf_counter() - t0)
            return steps

        decode = []
        if a.decode_steps > 0:
            decode_run()
            decode = [decode_run() for _ in range(a.repeats)]
    print(json.dumps({
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "attn_implementation": model.config._attn_implementation,
        "load_seconds": load_seconds,
        "lengths": out,
        "decode": decode,
    }))


if __name__ == "__main__":
    main()
