#!/usr/bin/env python3
"""lm-evaluation-harness side of bench/eval-throughput.ts: seconds per task with the HF backend.

  lm_eval_throughput.py --model DIR --data-dir ../shared/data --work-dir DIR --limit N \\
      --tasks amp_piqa,amp_hellaswag_rendering,... --batch-size 16 --threads N

The local-data tasks are tests/fixtures/lm_eval_tasks/*.yaml (lm-eval's own prompts and metrics
over the shared data files), converted and configured by tests/fixtures/lm_eval_reference.py,
imported here so both benches and the conformance test read the same items. Data conversion and
datasets' arrow caches are done before any timing. HFLM: float32, CPU, `batch-size` rows per forward.
Per task, the time of lm_eval.simple_evaluate on that task alone (building the task from its
files, the requests, the forwards, the metrics), the model already loaded.
Prints one JSON line: {"versions", "load_seconds", "tasks": {name: {"seconds", "items", "metrics"}}}.
"""
import argparse
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

import datasets  # noqa: E402
import lm_eval  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from lm_eval.models.huggingface import HFLM  # noqa: E402
from lm_eval.tasks import TaskManager  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "fixtures"))
from lm_eval_reference import converted_datasets, metric_values, task_configs  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--work-dir", required=True)
    p.add_argument("--limit", type=int, required=True)
    p.add_argument("--tasks", required=True)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--threads", type=int, required=True)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    datasets.disable_progress_bars()
    work = Path(a.work_dir)
    for name, docs in converted_datasets(Path(a.data_dir), a.limit).items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        with (work / name).open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(d, ensure_ascii=False) + "\n" for d in docs)
    wanted = a.tasks.split(",")
    configs = {c["task"]: c for c in task_configs(work) if c["task"] in wanted}
    # datasets turns each json file into an arrow cache the first time; do that outside the timing
    lm_eval.tasks.get_task_dict(list(configs.values()), TaskManager(include_defaults=False))

    t0 = time.perf_counter()
    lm = HFLM(pretrained=a.model, dtype="float32", device="cpu", batch_size=a.batch_size)
    load_seconds = time.perf_counter() - t0
    tasks = {}
    for name in wanted:
        t0 = time.perf_counter()
        out = lm_eval.simple_evaluate(model=lm, tasks=[configs[name]], limit=a.limit, log_samples=False, task_manager=TaskManager(include_defaults=False))
        seconds = time.perf_counter() - t0
        result = out["results"][name]
        tasks[name] = {"seconds": seconds, "items": out["n-samples"][name]["effective"], "metrics": metric_values(result)}
    print(json.dumps({
        "versions": {"lm_eval": lm_eval.__version__, "torch": torch.__version__, "transformers": transformers.__version__},
        "batch_size": a.batch_size,
        "load_seconds": load_seconds,
        "tasks": tasks,
    }))


if __name__ == "__main__":
    main()
