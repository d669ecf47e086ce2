"""Tagging benchmark: how well the rule-based tagger finds the customer's sentiment, the topics and the
personal data of French and English calls and written complaints, and how fast.

    .venv/bin/python benchmarks/tagging.py [--lang-hint] [--repeat 5] [--data benchmarks/data/tagging_eval.jsonl]

The evaluation set (benchmarks/data/tagging_eval.jsonl) was written apart from the tagger's rules and
their development set, and must stay so: it measures how the rules generalise. One JSON object a line:
``id``, ``text``, ``lang`` (fr/en), ``kind`` (call: speech-recogniser style; complaint: written),
``sentiment`` (satisfied/unhappy/neutral), ``topics`` (ids of the default taxonomy,
webapp/services/default_taxonomy.py) and ``pii``
(``type``, ``start``, ``end``: Python character offsets into ``text``).

Each text goes through ``worker.tagging.tagger.tag(text, lang)``, with ``lang=None`` (the tagger guesses the
language) unless ``--lang-hint`` passes the line's own; then through ``worker.tagging.pii.find_pii(text, lang)``
if that module exists (else PII is reported as not available).

- **sentiment**: precision, recall, F1 and support per class; macro-F1; accuracy; confusion matrix;
- **topics**: precision, recall, F1 and support per topic; micro-F1 over every (text, topic) decision;
  exact-set accuracy (the predicted set equals the expected one);
- **PII**: recall per type and precision overall. A gold span is found by a predicted span of the same
  type that overlaps at least half of it; for phone, email, iban and card the predicted span, once
  whitespace and punctuation are trimmed from both ends of both, must be the gold span exactly (the
  whole number, nothing of the words around it). A predicted span is right if it finds a gold span;
- the same macro-F1 and micro-F1 for calls and complaints, French and English;
- **throughput**: texts per second, the median of ``--repeat`` passes over the whole set.

Targets: sentiment macro-F1 >= 0.90, topic micro-F1 >= 0.80, PII recall >= 0.95 for phone, email, iban
and card. Misclassified texts are listed at the end (40 lines at most). Results: a table on stdout,
``benchmarks/results/tagging-<UTC timestamp>.json`` and ``tagging-latest.json``. The exit status is
0 whatever the scores (this is a measurement), 2 if the data file is invalid.
"""

# ruff: noqa: E402 - sys.path is fixed before the project imports (below)
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, where this file would hide any module
# named ``tagging``: the repository root goes there instead.
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import json
import os
import platform
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from benchmarks.results import save

DATA = ROOT / "benchmarks" / "data" / "tagging_eval.jsonl"
SENTIMENTS = ("satisfied", "unhappy", "neutral")
TOPICS = ("delivery", "billing", "product", "staff", "waiting", "after_sales", "website")
PII_TYPES = ("phone", "email", "iban", "card", "person", "address")
WHOLE_SPAN = frozenset({"phone", "email", "iban", "card"})  # must be found whole, not half
TARGETS = {"sentiment_macro_f1": 0.90, "topic_micro_f1": 0.80,
           **{f"pii_recall_{t}": 0.95 for t in ("phone", "email", "iban", "card")}}
MAX_ERROR_LINES = 40


class DataError(Exception):
    pass


# --- the data ------------------------------------------------------------------------------------

def _iban_ok(value: str) -> bool:
    raw = "".join(value.split()).upper()
    if len(raw) < 15 or not raw[:2].isalpha() or not raw[2:4].isdigit() or not raw.isalnum():
        return False
    return int("".join(str(int(c, 36)) for c in raw[4:] + raw[:4])) % 97 == 1


def _luhn_ok(value: str) -> bool:
    digits = [int(c) for c in value if c.isdigit()]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(reversed(digits)))
    return 13 <= len(digits) <= 19 and total % 10 == 0


def load(path: Path) -> list[dict[str, Any]]:
    """Read and check the evaluation set; raise DataError naming the first bad line."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: not JSON ({exc})") from exc
        missing = {"id", "text", "lang", "kind", "sentiment", "topics", "pii"} - set(row)
        if missing:
            raise DataError(f"{where}: missing {sorted(missing)}")
        if row["id"] in seen:
            raise DataError(f"{where}: id {row['id']!r} twice")
        seen.add(row["id"])
        if not isinstance(row["text"], str) or not row["text"].strip():
            raise DataError(f"{where}: empty text")
        if row["lang"] not in ("fr", "en") or row["kind"] not in ("call", "complaint"):
            raise DataError(f"{where}: lang {row['lang']!r} / kind {row['kind']!r}")
        if row["sentiment"] not in SENTIMENTS:
            raise DataError(f"{where}: sentiment {row['sentiment']!r}")
        if not isinstance(row["topics"], list) or not set(row["topics"]) <= set(TOPICS) \
                or len(set(row["topics"])) != len(row["topics"]):
            raise DataError(f"{where}: topics {row['topics']!r} (taxonomy: {', '.join(TOPICS)})")
        for span in row["pii"]:
            start, end, kind = span.get("start"), span.get("end"), span.get("type")
            if kind not in PII_TYPES or not isinstance(start, int) or not isinstance(end, int) \
                    or not 0 <= start < end <= len(row["text"]):
                raise DataError(f"{where}: bad PII span {span!r}")
            value = row["text"][start:end]
            if value != value.strip():
                raise DataError(f"{where}: PII span {value!r} has surrounding whitespace")
            if (kind == "iban" and not _iban_ok(value)) or (kind == "card" and not _luhn_ok(value)):
                raise DataError(f"{where}: {kind} {value!r} fails its checksum")
        rows.append(row)
    if not rows:
        raise DataError(f"{path}: no rows")
    return rows


# --- the metrics ---------------------------------------------------------------------------------

def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def sentiment_scores(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``pairs``: (expected, predicted). A prediction outside SENTIMENTS is wrong for every class."""
    per_class = {}
    for label in SENTIMENTS:
        tp = sum(e == label and p == label for e, p in pairs)
        fp = sum(e != label and p == label for e, p in pairs)
        fn = sum(e == label and p != label for e, p in pairs)
        per_class[label] = {**_prf(tp, fp, fn), "support": tp + fn}
    predicted = list(SENTIMENTS) + sorted({p for _, p in pairs} - set(SENTIMENTS))
    confusion = {e: {p: sum(1 for x, y in pairs if x == e and y == p) for p in predicted} for e in SENTIMENTS}
    return {"per_class": per_class, "macro_f1": statistics.fmean(c["f1"] for c in per_class.values()),
            "accuracy": sum(e == p for e, p in pairs) / len(pairs) if pairs else 0.0,
            "confusion": confusion, "n": len(pairs)}


def topic_scores(pairs: list[tuple[set[str], set[str]]]) -> dict[str, Any]:
    """``pairs``: (expected set, predicted set). Topics outside the taxonomy count as false positives."""
    per_topic = {}
    extra = sorted({t for _, p in pairs for t in p} - set(TOPICS))
    for topic in (*TOPICS, *extra):
        tp = sum(topic in e and topic in p for e, p in pairs)
        fp = sum(topic not in e and topic in p for e, p in pairs)
        fn = sum(topic in e and topic not in p for e, p in pairs)
        per_topic[topic] = {**_prf(tp, fp, fn), "support": tp + fn, "tp": tp, "fp": fp, "fn": fn}
    tp, fp, fn = (sum(t[k] for t in per_topic.values()) for k in ("tp", "fp", "fn"))
    micro = _prf(tp, fp, fn)
    return {"per_topic": per_topic, "micro_precision": micro["precision"], "micro_recall": micro["recall"],
            "micro_f1": micro["f1"], "macro_f1": statistics.fmean(per_topic[t]["f1"] for t in TOPICS),
            "exact_set_accuracy": sum(e == p for e, p in pairs) / len(pairs) if pairs else 0.0, "n": len(pairs)}


def _core(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without the whitespace and punctuation at its ends."""
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return start, end


def pii_match(text: str, gold: dict[str, Any], found: dict[str, Any]) -> bool:
    if gold["type"] != found["type"]:
        return False
    if gold["type"] in WHOLE_SPAN:
        return _core(text, gold["start"], gold["end"]) == _core(text, found["start"], found["end"])
    overlap = min(gold["end"], found["end"]) - max(gold["start"], found["start"])
    return overlap >= 0.5 * (gold["end"] - gold["start"])


def pii_scores(items: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]]) -> dict[str, Any]:
    """``items``: (text, gold spans, predicted spans) per text."""
    gold_by_type: Counter[str] = Counter()
    found_by_type: Counter[str] = Counter()
    predicted_by_type: Counter[str] = Counter()
    right_by_type: Counter[str] = Counter()
    missed, wrong = [], []
    for text, golds, preds in items:
        for gold in golds:
            gold_by_type[gold["type"]] += 1
            if any(pii_match(text, gold, p) for p in preds):
                found_by_type[gold["type"]] += 1
            else:
                missed.append({"type": gold["type"], "value": text[gold["start"]:gold["end"]]})
        for pred in preds:
            predicted_by_type[pred["type"]] += 1
            if any(pii_match(text, g, pred) for g in golds):
                right_by_type[pred["type"]] += 1
            else:
                wrong.append({"type": pred["type"], "value": text[pred["start"]:pred["end"]]})
    predicted = sum(predicted_by_type.values())
    return {
        "recall": {t: {"found": found_by_type[t], "support": gold_by_type[t],
                       "recall": found_by_type[t] / gold_by_type[t] if gold_by_type[t] else 0.0}
                   for t in PII_TYPES},
        "recall_overall": sum(found_by_type.values()) / max(1, sum(gold_by_type.values())),
        "precision": sum(right_by_type.values()) / predicted if predicted else 0.0,
        "precision_by_type": {t: {"right": right_by_type[t], "predicted": n, "precision": right_by_type[t] / n}
                              for t, n in sorted(predicted_by_type.items())},
        "predicted": predicted, "missed": missed, "wrong": wrong,
    }


# --- running the tagger --------------------------------------------------------------------------

def _timed_passes(fn: Callable[[str, str | None], Any], rows: list[dict[str, Any]], hint: bool,
                  repeat: int) -> tuple[list[Any], list[float], bool]:
    """Call ``fn`` on every text, ``repeat`` times; the first pass's results, each pass's seconds, and
    whether every pass gave the same results."""
    first: list[Any] = []
    seconds, stable = [], True
    for round_ in range(max(1, repeat)):
        started = time.perf_counter()
        results = [fn(row["text"], row["lang"] if hint else None) for row in rows]
        seconds.append(time.perf_counter() - started)
        if round_ == 0:
            first = results
        else:
            stable = stable and results == first
    return first, seconds, stable


def _spans(found: Iterable[Any]) -> list[dict[str, Any]]:
    return [{"type": str(s.type), "start": int(s.start), "end": int(s.end)} for s in found]


def _slices(rows: list[dict[str, Any]], predictions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for key, value in (("kind", "call"), ("kind", "complaint"), ("lang", "fr"), ("lang", "en")):
        mine = [r for r in rows if r[key] == value]
        out[value] = {
            "n": len(mine),
            "sentiment_macro_f1": sentiment_scores([(r["sentiment"], predictions[r["id"]]["sentiment"])
                                                    for r in mine])["macro_f1"],
            "topic_micro_f1": topic_scores([(set(r["topics"]), set(predictions[r["id"]]["topics"]))
                                            for r in mine])["micro_f1"],
        }
    return out


# --- the report ----------------------------------------------------------------------------------

def _mark(value: float | None, target: float) -> str:
    return "n/a" if value is None else ("PASS" if value >= target else "MISS")


def report(result: dict[str, Any]) -> None:
    counts = result["counts"]
    print(f"\n{counts['texts']} texts ({counts['fr']} fr, {counts['en']} en; {counts['call']} calls, "
          f"{counts['complaint']} complaints), language {'given' if result['lang_hint'] else 'guessed'}, "
          f"{result['repeat']} passes, {platform.python_implementation()} {platform.python_version()}")

    s = result["sentiment"]
    print("\nSENTIMENT" + " " * 13 + f"{'precision':>10}{'recall':>8}{'F1':>7}{'support':>9}")
    for label, c in s["per_class"].items():
        print(f"  {label:<20}{c['precision']:>10.3f}{c['recall']:>8.3f}{c['f1']:>7.3f}{c['support']:>9}")
    print(f"  macro-F1 {s['macro_f1']:.3f}   accuracy {s['accuracy']:.3f}")
    columns = list(next(iter(s["confusion"].values())))
    print("  confusion (rows: expected, columns: predicted)")
    print("  " + " " * 12 + "".join(f"{c:>11}" for c in columns))
    for expected, row in s["confusion"].items():
        print(f"  {expected:<12}" + "".join(f"{row[c]:>11}" for c in columns))

    t = result["topics"]
    print("\nTOPICS" + " " * 16 + f"{'precision':>10}{'recall':>8}{'F1':>7}{'support':>9}{'FP':>5}{'FN':>5}")
    for topic, c in t["per_topic"].items():
        print(f"  {topic:<20}{c['precision']:>10.3f}{c['recall']:>8.3f}{c['f1']:>7.3f}{c['support']:>9}"
              f"{c['fp']:>5}{c['fn']:>5}")
    print(f"  micro-F1 {t['micro_f1']:.3f} (P {t['micro_precision']:.3f}, R {t['micro_recall']:.3f})   "
          f"macro-F1 {t['macro_f1']:.3f}   exact set {t['exact_set_accuracy']:.3f}")

    p = result["pii"]
    if p.get("available"):
        print("\nPII" + " " * 19 + f"{'found':>10}{'recall':>8}{'right':>12}{'precision':>11}")
        for kind, c in p["recall"].items():
            right = p["precision_by_type"].get(kind, {"right": 0, "predicted": 0, "precision": 0.0})
            print(f"  {kind:<20}{c['found']:>6}/{c['support']:<3}{c['recall']:>8.3f}"
                  f"{right['right']:>8}/{right['predicted']:<3}{right['precision']:>11.3f}")
        print(f"  recall overall {p['recall_overall']:.3f}   precision {p['precision']:.3f} "
              f"({p['predicted']} spans predicted)")
        for miss in p["missed"][:10]:
            print(f"  missed {miss['type']}: {miss['value']!r}")
        for extra in p["wrong"][:10]:
            print(f"  wrong  {extra['type']}: {extra['value']!r}")
    else:
        print(f"\nPII: not available ({p['reason']})")

    print(f"\nBY SLICE{'':<12}{'n':>5}{'sentiment macro-F1':>20}{'topic micro-F1':>16}")
    for name, c in result["slices"].items():
        print(f"  {name:<18}{c['n']:>5}{c['sentiment_macro_f1']:>20.3f}{c['topic_micro_f1']:>16.3f}")

    th = result["throughput"]
    print(f"\nTHROUGHPUT  tag: {th['tag_texts_per_s']:,.0f} texts/s (median of {len(th['tag_pass_s'])} passes, "
          f"{th['tag_ms_per_text']:.3f} ms a text)" + ("" if th["tag_stable"] else "  RESULTS DIFFER BETWEEN PASSES"))
    if th.get("pii_texts_per_s") is not None:
        print(f"            find_pii: {th['pii_texts_per_s']:,.0f} texts/s")

    print("\nTARGETS")
    for name, target in result["targets"].items():
        print(f"  {name:<22} {'n/a' if target['value'] is None else format(target['value'], '.3f'):>6}"
              f"  >= {target['target']:.2f}  {target['verdict']}")

    errors = result["errors"]
    print(f"\nMISCLASSIFIED ({len(errors['sentiment'])} sentiment, {len(errors['topics'])} topics)")
    sentiment_lines = [f"  {e['id']:<8} sentiment  expected {e['expected']:<10} got {e['got']}"
                       for e in errors["sentiment"]]
    topic_lines = [f"  {e['id']:<8} topics     expected {','.join(e['expected']) or '-':<22} got "
                   f"{','.join(e['got']) or '-'}" for e in errors["topics"]]
    # Half the lines each, what one side does not use going to the other.
    shown = min(len(sentiment_lines), max(MAX_ERROR_LINES // 2, MAX_ERROR_LINES - len(topic_lines)))
    lines = sentiment_lines[:shown] + topic_lines[:MAX_ERROR_LINES - shown]
    for line in lines:
        print(line)
    hidden = len(sentiment_lines) + len(topic_lines) - len(lines)
    if hidden:
        print(f"  ... and {hidden} more (all in the JSON)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang-hint", action="store_true",
                        help="pass each line's language to the tagger (default: None, the tagger guesses)")
    parser.add_argument("--repeat", type=int, default=5, help="passes over the set for the throughput")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    try:
        rows = load(args.data)
    except (OSError, DataError) as exc:
        print(f"invalid data file: {exc}", file=sys.stderr)
        return 2

    from worker.tagging.tagger import tag

    find_pii: Callable[[str, str | None], Any] | None
    try:
        from worker.tagging.pii import find_pii
        pii_reason = ""
    except ImportError as exc:
        find_pii, pii_reason = None, str(exc)

    tags, tag_seconds, tag_stable = _timed_passes(tag, rows, args.lang_hint, args.repeat)
    predictions = {row["id"]: {"sentiment": str(t.sentiment), "topics": sorted(set(t.topics))}
                   for row, t in zip(rows, tags, strict=True)}
    throughput: dict[str, Any] = {
        "tag_pass_s": tag_seconds, "tag_texts_per_s": len(rows) / statistics.median(tag_seconds),
        "tag_ms_per_text": 1000 * statistics.median(tag_seconds) / len(rows), "tag_stable": tag_stable,
        "pii_texts_per_s": None,
    }
    pii: dict[str, Any] = {"available": False, "reason": pii_reason}
    if find_pii is not None:
        found, pii_seconds, pii_stable = _timed_passes(find_pii, rows, args.lang_hint, args.repeat)
        for row, spans in zip(rows, found, strict=True):
            predictions[row["id"]]["pii"] = _spans(spans)
        pii = {"available": True, **pii_scores([(r["text"], r["pii"], predictions[r["id"]]["pii"]) for r in rows])}
        throughput.update(pii_pass_s=pii_seconds, pii_texts_per_s=len(rows) / statistics.median(pii_seconds),
                          pii_stable=pii_stable)

    sentiment = sentiment_scores([(r["sentiment"], predictions[r["id"]]["sentiment"]) for r in rows])
    topics = topic_scores([(set(r["topics"]), set(predictions[r["id"]]["topics"])) for r in rows])
    values: dict[str, float | None] = {"sentiment_macro_f1": sentiment["macro_f1"],
                                       "topic_micro_f1": topics["micro_f1"]}
    for kind in ("phone", "email", "iban", "card"):
        values[f"pii_recall_{kind}"] = pii["recall"][kind]["recall"] if pii["available"] else None
    targets = {name: {"value": values[name], "target": target, "verdict": _mark(values[name], target)}
               for name, target in TARGETS.items()}
    errors = {
        "sentiment": [{"id": r["id"], "expected": r["sentiment"], "got": predictions[r["id"]]["sentiment"]}
                      for r in rows if r["sentiment"] != predictions[r["id"]]["sentiment"]],
        "topics": [{"id": r["id"], "expected": sorted(r["topics"]), "got": predictions[r["id"]]["topics"]}
                   for r in rows if set(r["topics"]) != set(predictions[r["id"]]["topics"])],
    }
    counts = {"texts": len(rows), **Counter(r["lang"] for r in rows), **Counter(r["kind"] for r in rows),
              "sentiment": dict(Counter(r["sentiment"] for r in rows)),
              "topics": {t: sum(t in r["topics"] for r in rows) for t in TOPICS},
              "pii": {t: sum(s["type"] == t for r in rows for s in r["pii"]) for t in PII_TYPES}}
    result = {"benchmark": "tagging", "at": datetime.now(UTC).isoformat(),
              "data": str(args.data.resolve().relative_to(ROOT)) if args.data.resolve().is_relative_to(ROOT)
              else str(args.data), "lang_hint": args.lang_hint, "repeat": args.repeat,
              "machine": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
              "counts": counts, "sentiment": sentiment, "topics": topics, "pii": pii,
              "slices": _slices(rows, predictions), "throughput": throughput, "targets": targets,
              "errors": errors, "predictions": predictions}
    report(result)
    print(f"\nwritten to {save('tagging', result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
