"""A company's own model (worker.tagging.tenant_model): how long it takes to learn from 500 corrections,
how long it takes to tag a text with it, and how big its stored payload is.

    .venv/bin/python benchmarks/tenant_model.py [--repeat 5] [--corrections 500]

The corrections are drawn (fixed seed) from the tagging benchmark's development and evaluation sets, half
of them two texts joined, as tests/test_tenant_model.py used to time them. Figures are medians of
``--repeat`` runs: training seconds, milliseconds per predicted text, the payload's bytes. Results: a line
each on stdout, ``benchmarks/results/tenant_model-<UTC timestamp>.json`` and ``tenant_model-latest.json``.
"""

# ruff: noqa: E402 - sys.path is fixed before the project imports (below)
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import json
import random
import statistics
import time

from benchmarks.results import save
from worker.tagging.tenant_model import Example, TenantModel, train

DATA = HERE / "data"


def rows() -> list[dict[str, object]]:
    return [json.loads(line) for name in ("tagging_dev.jsonl", "tagging_eval.jsonl")
            for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def corrections(count: int) -> list[Example]:
    pick = random.Random(0)  # noqa: S311 - a fixed sample
    lines = rows()
    made = []
    for index in range(count):
        first, second = pick.choice(lines), pick.choice(lines)
        text = f"{first['text']} {second['text']}" if index % 2 else str(first["text"])
        made.append(Example(text, str(first["sentiment"]), frozenset(first["topics"])))  # type: ignore[arg-type]
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--corrections", type=int, default=500)
    args = parser.parse_args()
    examples = corrections(args.corrections)
    texts = [str(row["text"]) for row in rows()]
    train(examples[:20])  # imports scikit-learn once, outside the timings
    trainings, per_text, sizes = [], [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        payload = train(examples)
        trainings.append(time.perf_counter() - started)
        assert payload is not None
        sizes.append(len(payload))
        model = TenantModel.load(payload)
        started = time.perf_counter()
        for text in texts:
            model.predict(text)
        per_text.append((time.perf_counter() - started) / len(texts))
    result = {"corrections": args.corrections, "texts_predicted": len(texts), "repeat": args.repeat,
              "train_s_median": statistics.median(trainings), "train_s": trainings,
              "predict_ms_median": 1000 * statistics.median(per_text),
              "payload_bytes": statistics.median(sizes)}
    print(f"train on {args.corrections} corrections: {result['train_s_median']:.2f} s (median of {args.repeat})")
    print(f"predict: {result['predict_ms_median']:.3f} ms a text over {len(texts)} texts")
    print(f"payload: {result['payload_bytes']:,.0f} bytes")
    print(f"written to {save('tenant_model', result)}")


if __name__ == "__main__":
    main()
