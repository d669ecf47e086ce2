"""How far two people labelling the same customer voices agree, and where the tagger stands against them.

    .venv/bin/python benchmarks/agreement.py [--first benchmarks/data/tagging_heldout3.jsonl]
                                             [--second benchmarks/data/tagging_heldout3.second.jsonl]

``--first``: a labelled set as ``benchmarks/tagging.py`` reads it (``id``, ``text``, ``lang``, ``sentiment``,
``topics`` the main topics, ``mentions``), written and labelled by one person. ``--second``: the same ids
labelled again by another person who saw only the texts (``id``, ``sentiment``, ``topics``,
``mentions``), never the first labels nor the tagger. A target for a tagger means little above what two
careful people agree on: this measures that ceiling (issue #15, item 8).

- **main topics**: the second person's main topics scored against the first's: micro precision, recall
  and F1 over every (text, topic) decision (F1 is symmetric: swapping the two swaps P and R), exact-set
  agreement, and Cohen's kappa per topic (main or not);
- **topics found** (main and mentions together) and **roles** (of the topics both found, how often both
  gave the same role, main or mention);
- **sentiment**: agreement, Cohen's kappa, and macro-F1 of the second against the first;
- **the tagger** (``worker.tagging.tagger.tag``, language guessed) on the same texts: main-topic micro-F1
  against each person, and against the lines where both people gave the same main topics (their
  consensus), with the number of such lines; sentiment macro-F1 likewise.

No piece of any text is printed (the set is held out). Results: a table on stdout and
``benchmarks/results/agreement-<UTC timestamp>.json`` and ``agreement-latest.json``. Exit status 2 if
the files do not match (different ids or order, a label out of the taxonomy).
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
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.results import save

DATA = ROOT / "benchmarks" / "data"
TOPICS = ("delivery", "billing", "product", "staff", "waiting", "after_sales", "website")
SENTIMENTS = ("satisfied", "unhappy", "neutral")

Labels = dict[str, Any]


class DataError(Exception):
    pass


def read(path: Path) -> list[Labels]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for number, row in enumerate(rows, 1):
        topics, mentions = set(row.get("topics", ())), set(row.get("mentions", ()))
        if not topics <= set(TOPICS) or not mentions <= set(TOPICS) or topics & mentions:
            raise DataError(f"{path.name}:{number}: topics or mentions out of the taxonomy, or in both lists")
        if row.get("sentiment") not in SENTIMENTS:
            raise DataError(f"{path.name}:{number}: sentiment {row.get('sentiment')!r}")
    return rows


def micro(gold: Sequence[set[str]], said: Sequence[set[str]]) -> dict[str, float]:
    tp = sum(len(g & s) for g, s in zip(gold, said, strict=True))
    fp = sum(len(s - g) for g, s in zip(gold, said, strict=True))
    fn = sum(len(g - s) for g, s in zip(gold, said, strict=True))
    return {"precision": tp / (tp + fp) if tp + fp else 0.0, "recall": tp / (tp + fn) if tp + fn else 0.0,
            "f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0, "tp": tp, "fp": fp, "fn": fn}


def kappa(first: Sequence[Any], second: Sequence[Any]) -> float | None:
    """Cohen's kappa of two raters' labels of the same items (None when chance agreement is total)."""
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    one, two = Counter(first), Counter(second)
    expected = sum(one[k] * two[k] for k in one) / (n * n)
    return None if expected == 1 else (observed - expected) / (1 - expected)


def macro_f1(gold: Sequence[str], said: Sequence[str]) -> float:
    scores = []
    for label in SENTIMENTS:
        tp = sum(g == s == label for g, s in zip(gold, said, strict=True))
        fp = sum(s == label != g for g, s in zip(gold, said, strict=True))
        fn = sum(g == label != s for g, s in zip(gold, said, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def compare(first: Sequence[Labels], second: Sequence[Labels]) -> dict[str, Any]:
    """The second person's labels against the first's."""
    main1, main2 = [set(r["topics"]) for r in first], [set(r["topics"]) for r in second]
    found1 = [set(r["topics"]) | set(r.get("mentions", ())) for r in first]
    found2 = [set(r["topics"]) | set(r.get("mentions", ())) for r in second]
    both = [(t in m1, t in m2) for f1, f2, m1, m2 in zip(found1, found2, main1, main2, strict=True)
            for t in f1 & f2]
    s1, s2 = [r["sentiment"] for r in first], [r["sentiment"] for r in second]
    return {
        "lines": len(first),
        "main_topics": {**micro(main1, main2),
                        "exact_set": sum(a == b for a, b in zip(main1, main2, strict=True)) / len(first),
                        "kappa": {t: kappa([t in m for m in main1], [t in m for m in main2]) for t in TOPICS}},
        "topics_found": micro(found1, found2),
        "same_role": {"topics": len(both), "share": sum(a == b for a, b in both) / len(both) if both else None},
        "sentiment": {"agreement": sum(a == b for a, b in zip(s1, s2, strict=True)) / len(first),
                      "kappa": kappa(s1, s2), "macro_f1": macro_f1(s1, s2)},
    }


def tagger_against(first: Sequence[Labels], second: Sequence[Labels],
                   tag: Callable[[str], tuple[set[str], str]]) -> dict[str, Any]:
    """The tagger's main topics and sentiment against each person, and against their consensus."""
    said = [tag(r["text"]) for r in first]
    topics, sentiments = [s[0] for s in said], [s[1] for s in said]
    agreed = [i for i, (a, b) in enumerate(zip(first, second, strict=True)) if set(a["topics"]) == set(b["topics"])]
    result: dict[str, Any] = {}
    for name, rows in (("first", first), ("second", second)):
        result[name] = {"main_topics": micro([set(r["topics"]) for r in rows], topics),
                        "sentiment_macro_f1": macro_f1([r["sentiment"] for r in rows], sentiments)}
    result["consensus"] = {"lines": len(agreed),
                           "main_topics": micro([set(first[i]["topics"]) for i in agreed], [topics[i] for i in agreed])}
    return result


def _tagger() -> Callable[[str], tuple[set[str], str]]:
    from worker.tagging.tagger import tag

    def run(text: str) -> tuple[set[str], str]:
        tags = tag(text, None)
        return set(tags.topics), tags.sentiment

    return run


def _line(scores: dict[str, float]) -> str:
    return f"{scores['f1']:.3f} (P {scores['precision']:.3f}, R {scores['recall']:.3f})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--first", type=Path, default=DATA / "tagging_heldout3.jsonl")
    parser.add_argument("--second", type=Path, default=DATA / "tagging_heldout3.second.jsonl")
    parser.add_argument("--no-tagger", action="store_true", help="the two people only")
    args = parser.parse_args(argv)
    try:
        first, second = read(args.first), read(args.second)
        if [r["id"] for r in first] != [r["id"] for r in second]:
            raise DataError("the two files do not hold the same ids in the same order")
    except (OSError, ValueError, DataError) as err:
        print(f"agreement: {err}", file=sys.stderr)
        return 2
    result: dict[str, Any] = {"first": str(args.first.relative_to(ROOT) if args.first.is_relative_to(ROOT)
                                          else args.first), "people": compare(first, second)}
    people = result["people"]
    print(f"{people['lines']} lines labelled twice")
    print(f"main topics, second against first: micro-F1 {_line(people['main_topics'])}, "
          f"exact set {people['main_topics']['exact_set']:.3f}")
    print("  kappa per topic: " + ", ".join(f"{t} {k:.2f}" for t, k in people["main_topics"]["kappa"].items()
                                            if k is not None))
    print(f"topics found (main and mentions): micro-F1 {_line(people['topics_found'])}; same role for "
          f"{people['same_role']['share']:.3f} of the {people['same_role']['topics']} topics both found")
    print(f"sentiment: agreement {people['sentiment']['agreement']:.3f}, kappa {people['sentiment']['kappa']:.3f}, "
          f"macro-F1 {people['sentiment']['macro_f1']:.3f}")
    if not args.no_tagger:
        result["tagger"] = tagger = tagger_against(first, second, _tagger())
        for name in ("first", "second"):
            print(f"tagger against the {name} person: main-topic micro-F1 {_line(tagger[name]['main_topics'])}, "
                  f"sentiment macro-F1 {tagger[name]['sentiment_macro_f1']:.3f}")
        print(f"tagger on the {tagger['consensus']['lines']} lines where both gave the same main topics: "
              f"micro-F1 {_line(tagger['consensus']['main_topics'])}")
    print(f"written to {save('agreement', result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
