#!/usr/bin/env python3
"""AMP scoring and the paper's uniform allocation, written plainly in PyTorch from AMP-SPEC
(the other side of bench/vs-pytorch.ts).

  amp_pytorch.py --model DIR --calib alpaca.json --samples 50 --ratio 0.3 --threads N

1. Loads the model (transformers, float32, its default attention) and its tokenizer.
2. Formats the first `samples` Alpaca records as "Instruction: ...\\nInput: ...\\nResponse:" (the
   Input line only when the input is non-empty) and tokenizes each with the tokenizer's default
   special tokens. One prompt per forward pass, no truncation.
3. Forward pre-hooks on o_proj and down_proj: head n's score is the mean over tokens of
   ||h_n[t] . W_O,n^T||_1, neuron m's the mean over tokens of |a_m[t]|; both averaged over prompts.
4. Uniform allocation at `ratio` of TOTAL parameters, GQA group mode: p = f . P_total /
   sum_layers(P_attn + P_mlp); units = round(p . H_kv) KV groups (a group scores the mean of its
   query heads), k_m = round(I.p + H.p - units.group_size) neurons; the lowest go (ties: the higher
   index goes first).
Prints one JSON line: per layer the kept heads, KV heads and neurons, the scores, and timings
(import, load, score, plan seconds; the process start before the first import is not included).
"""
import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import warnings  # noqa: E402

warnings.filterwarnings("ignore")

import torch  # noqa: E402
import transformers  # noqa: E402

transformers.logging.set_verbosity_error()
T_IMPORTED = time.perf_counter()


def alpaca_prompts(path: str, n: int) -> list[str]:
    records = json.load(open(path, encoding="utf-8"))[:n]
    out = []
    for r in records:
        inp = r.get("input", "")
        out.append(f"Instruction: {r['instruction']}\nInput: {inp}\nResponse:" if inp else f"Instruction: {r['instruction']}\nResponse:")
    return out


def score(model, prompts: list[list[int]]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    cfg = model.config
    H = cfg.num_attention_heads
    dh = getattr(cfg, "head_dim", None) or cfg.hidden_size // H
    layers = model.model.layers
    heads = [torch.zeros(H, dtype=torch.float64) for _ in layers]
    neurons = [torch.zeros(cfg.intermediate_size, dtype=torch.float64) for _ in layers]

    def head_hook(i, o_proj):
        def hook(_module, inputs):
            x = inputs[0][0].view(-1, H, dh)  # [T, H, dh]
            w = o_proj.weight.view(-1, H, dh)  # [d, H, dh]
            contribution = torch.einsum("thk,dhk->htd", x, w)  # [H, T, d]: c_n = h_n . W_O,n^T
            heads[i] += contribution.abs().sum(dim=-1).mean(dim=-1).double()
        return hook

    def neuron_hook(i):
        def hook(_module, inputs):
            neurons[i] += inputs[0][0].abs().mean(dim=0).double()  # [I]
        return hook

    hooks = []
    for i, layer in enumerate(layers):
        hooks.append(layer.self_attn.o_proj.register_forward_pre_hook(head_hook(i, layer.self_attn.o_proj)))
        hooks.append(layer.mlp.down_proj.register_forward_pre_hook(neuron_hook(i)))
    with torch.inference_mode():
        for ids in prompts:
            model(input_ids=torch.tensor([ids]), use_cache=False)
    for h in hooks:
        h.remove()
    n = len(prompts)
    return [h / n for h in heads], [m / n for m in neurons]


def prune_order(scores: list[float]) -> list[int]:
    """Lowest first; among equal scores the higher index goes first."""
    return sorted(range(len(scores)), key=lambda i: (scores[i], -i))


def uniform_plan(model, head_scores, neuron_scores, ratio: float) -> list[dict]:
    cfg = model.config
    H, H_kv, I = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.intermediate_size
    group = H // H_kv
    total = sum(p.numel() for p in model.parameters())  # tied embeddings counted once

    def params(module) -> int:
        return sum(p.numel() for name, p in module.named_parameters() if "norm" not in name)

    prunable = sum(params(l.self_attn) + params(l.mlp) for l in model.model.layers)
    p = ratio * total / prunable
    units = round(p * H_kv)  # Python's round: halves to even, as the reference
    k_m = max(0, round(I * p + H * p - units * group))
    plan = []
    for hs, ns in zip(head_scores, neuron_scores):
        hs, ns = hs.tolist(), ns.tolist()
        group_scores = [sum(hs[g * group : (g + 1) * group]) / group for g in range(H_kv)]
        gone_groups = set(prune_order(group_scores)[:units])
        gone_neurons = set(prune_order(ns)[:k_m])
        plan.append({
            "heads": [h for h in range(H) if h // group not in gone_groups],
            "kv_heads": [g for g in range(H_kv) if g not in gone_groups],
            "neurons": [m for m in range(I) if m not in gone_neurons],
            "head_scores": hs,
            "neuron_scores": ns,
        })
    return plan


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--calib", required=True)
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--ratio", type=float, default=0.3)
    ap.add_argument("--threads", type=int, required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    model = transformers.AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(a.model)
    t1 = time.perf_counter()
    prompts = [tokenizer(text)["input_ids"] for text in alpaca_prompts(a.calib, a.samples)]
    heads, neurons = score(model, prompts)
    t2 = time.perf_counter()
    plan = uniform_plan(model, heads, neurons, a.ratio)
    t3 = time.perf_counter()
    print(json.dumps({
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "attn_implementation": model.config._attn_implementation,
        "tokens": sum(len(p) for p in prompts),
        "seconds": {"import": T_IMPORTED - T_START, "load": t1 - t0, "score": t2 - t1, "plan": t3 - t2},
        "layers": plan,
    }))


if __name__ == "__main__":
    main()
