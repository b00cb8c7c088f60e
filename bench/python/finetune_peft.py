#!/usr/bin/env python3
"""PyTorch + peft side of bench/finetune.ts --throughput: seconds per LoRA distillation step.

  finetune_peft.py --model PRUNED --teacher DENSE --steps K --micro-batches M --seq-len T --threads N

What one step of `amp-prune finetune --teacher` does, in the plain PyTorch way: LoRA r=8, alpha=16
on the seven projections (peft), float32 on CPU, transformers' default attention (sdpa); per step M
micro-batches of one T-token sequence each: the teacher's forward under no_grad, the student's
forward and backward of tau^2 * KL(teacher || student) at tau = 1 over every position, gradients
accumulated, global-norm clipping at 1, one torch.optim.AdamW step at lr 3e-4. Token ids follow a
fixed formula (content does not change the cost). The first step is timed apart (warm-up).
Prints one JSON line: {"versions", "load_seconds", "first_step_seconds", "step_seconds": [...],
"tokens_per_step"}.
"""
import argparse
import json
import time
import warnings

warnings.filterwarnings("ignore")

import peft  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402

transformers.logging.set_verbosity_error()

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--teacher", required=True)
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--micro-batches", type=int, default=4)
    p.add_argument("--seq-len", type=int, default=512)
    p.add_argument("--threads", type=int, required=True)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    start = time.perf_counter()
    student = transformers.AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32)
    model = peft.get_peft_model(student, peft.LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=TARGETS))
    teacher = transformers.AutoModelForCausalLM.from_pretrained(a.teacher, dtype=torch.float32).eval()
    load_seconds = time.perf_counter() - start
    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=3e-4, weight_decay=0.0)
    vocab = student.config.vocab_size
    T = a.seq_len

    def micro_batch(step: int, m: int) -> torch.Tensor:
        base = (step * a.micro_batches + m) * T
        return torch.tensor([[((base + t) * 7919 + 13) % vocab for t in range(T)]])

    seconds = []
    for step in range(a.steps + 1):
        began = time.perf_counter()
        opt.zero_grad()
        for m in range(a.micro_batches):
            ids = micro_batch(step, m)
            with torch.no_grad():
                log_pt = torch.log_softmax(teacher(input_ids=ids, use_cache=False).logits, dim=-1)
            log_ps = torch.log_softmax(model(input_ids=ids, use_cache=False).logits, dim=-1)
            loss = (log_pt.exp() * (log_pt - log_ps)).sum(-1).mean() / a.micro_batches
            loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        seconds.append(time.perf_counter() - began)
    versions = {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}
    print(json.dumps({"versions": versions, "load_seconds": load_seconds, "first_step_seconds": seconds[0], "step_seconds": seconds[1:], "tokens_per_step": a.micro_batches * T}))


if __name__ == "__main__":
    main()
