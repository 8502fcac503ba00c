"""Benchmark: train and measure our assistant, Rasa's stock pipeline and a TF-IDF baseline.

    make bench                                    # full run: docs/benchmarks.md + plot
    .venv/bin/python scripts/bench.py --quick --out-dir /tmp/b   # smoke run (make test)

For each system: held-out NLU scores (tests/nlu_heldout.yml) and a fallback-threshold
sweep; for the Rasa systems also end-to-end REST turns at several concurrency
levels with our action server, /model/parse alone, training wall time, model size,
cold start and peak memory. Ours runs as deployed (through bot.server.launcher); the stock
pipeline runs twice, by plain `rasa run` and with the same speed-ups (stock_fast, no
second training), so the pipeline's share and the runtime fixes' share are separate.
Writes a JSON result, the trade-off plot and the generated section of
docs/benchmarks.md, and prints a summary.

--quick trains nothing: it reuses models/spine-faq.tar.gz for ours, measures the stock
model only if an earlier full run cached it, trains the TF-IDF baseline on 20 examples
per intent, scores a small held-out subset and sends a handful of turns. Its numbers
are not measurements; it exists so the script cannot rot.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

import asyncio  # noqa: E402

import yaml  # noqa: E402

from bench import e2e, report, training  # noqa: E402
from bench.nlu_eval import (  # noqa: E402
    Example,
    TfidfBaseline,
    load_examples,
    parse_over_http,
    prediction_from_parse,
    scores,
    sweep,
)
from bench.stats import latency_summary  # noqa: E402

HELDOUT = PROJECT_ROOT / "tests" / "nlu_heldout.yml"
TRAINING_DATA = PROJECT_ROOT / "data" / "nlu.yml"
DEPLOYED_MODEL = PROJECT_ROOT / "models" / "spine-faq.tar.gz"
STOCK_CONFIG = PROJECT_ROOT / "bench" / "configs" / "stock.yml"
LABELS = {
    "ours": "Ours (config.yml)",
    "stock": "Rasa stock pipeline",
    "stock_fast": "Rasa stock pipeline + our speed-ups",
    "tfidf": "TF-IDF + logistic regression",
}


def fallback_threshold(config: Path) -> Optional[float]:
    """The FallbackClassifier threshold a Rasa config deploys (None: no fallback)."""
    data = yaml.safe_load(config.read_text()) or {}
    for component in data.get("pipeline") or []:
        if component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", 0.3))
    return None


def first_per_intent(examples: List[Example], per_intent: int) -> List[Example]:
    """The first `per_intent` examples of every intent (quick mode)."""
    taken: Dict[str, int] = defaultdict(int)
    subset = []
    for example in examples:
        if taken[example.intent] < per_intent:
            taken[example.intent] += 1
            subset.append(example)
    return subset


def machine_info() -> Dict[str, Any]:
    from importlib.metadata import version

    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kb = int(line.split()[1])
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gb": memory_kb / 1024 / 1024,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "rasa": version("rasa"),
        "tensorflow": version("tensorflow"),
        "sklearn": version("scikit-learn"),
        "load_start": os.getloadavg()[0],
    }


def run_tfidf(heldout: List[Example], threshold: float, quick: bool = False) -> Dict[str, Any]:
    """Train on data/nlu.yml (a few examples per intent when quick) and score; time
    single-text prediction in process."""
    training = load_examples(TRAINING_DATA)
    if quick:
        training = first_per_intent(training, per_intent=20)
    baseline = TfidfBaseline(threshold=threshold).fit(training)
    predictions = baseline.predict([e.text for e in heldout])
    latencies = []
    started = time.perf_counter()
    for example in heldout:
        one = time.perf_counter()
        baseline.predict([example.text])
        latencies.append(time.perf_counter() - one)
    inprocess = latency_summary(latencies, time.perf_counter() - started)
    return {
        "name": "tfidf",
        "label": LABELS["tfidf"],
        "fallback_threshold": threshold,
        "training": {
            "train_s": round(baseline.train_s, 2),
            "size_bytes": baseline.size_bytes(),
            "note": "scikit-learn fit only",
        },
        "nlu": {**scores(heldout, predictions), "sweep": sweep(heldout, predictions)},
        "inprocess_parse": inprocess,
        "e2e": None,
    }


def model_for(name: str, config: Path, args: argparse.Namespace, workdir: Path) -> Any:
    """The trained model to measure, or a reason why there is none."""
    given = args.ours_model if name == "ours" else None
    if given is None and args.quick and name == "ours" and config == PROJECT_ROOT / "config.yml":
        given = DEPLOYED_MODEL
    if given is not None:
        if not given.exists():
            return f"no model at {given}: run `make train` first"
        # A copy: another process may retrain the deployed model meanwhile.
        copy = workdir / f"{name}.tar.gz"
        shutil.copy2(given, copy)
        trained = training.existing(name, config, copy)
        return {**trained.__dict__, "note": f"reused {given.name}, not timed"}
    # Variants of a config (bench/configs/ours_*.yml) are cached under their own name.
    default = PROJECT_ROOT / "config.yml" if name == "ours" else STOCK_CONFIG
    model_name = "stock" if name == "stock_fast" else name  # one stock model serves both
    cache_name = model_name if config == default else f"{model_name}-{config.stem}"
    if args.quick:
        hit = training.cached(cache_name, config)
        if hit is None:
            return "not trained: --quick trains nothing and no cached model matches the inputs"
        return {**hit.__dict__, "note": "cached"}
    if args.reuse_models or name == "stock_fast":
        hit = training.cached(cache_name, config)
        if hit is not None:
            note = "the stock model" if name == "stock_fast" else "cached from an earlier run"
            return {**hit.__dict__, "note": note}
    print(f"[{name}] rasa train --config {config.relative_to(PROJECT_ROOT)} ...", flush=True)
    return training.train(cache_name, config).__dict__


def run_rasa(
    name: str, config: Path, heldout: List[Example], args: argparse.Namespace, workdir: Path
) -> Dict[str, Any]:
    from bench.servers import BenchServers

    system: Dict[str, Any] = {
        "name": name,
        "label": LABELS[name]
        if config in (PROJECT_ROOT / "config.yml", STOCK_CONFIG)
        else f"Ours ({config.name})",
        "config": str(config.relative_to(PROJECT_ROOT)),
        "fallback_threshold": fallback_threshold(config),
        "nlu": None,
        "e2e": None,
    }
    trained = model_for(name, config, args, workdir)
    if isinstance(trained, str):
        system["training"] = {"note": trained}
        system["skipped"] = trained
        print(f"[{name}] skipped: {trained}", flush=True)
        return system
    system["training"] = trained
    if trained.get("train_s") is not None:
        print(f"[{name}] trained in {trained['train_s']} s", flush=True)

    # The stock pipeline is served as a clinic would get it, by plain `rasa run`;
    # stock_fast is the same model through our launcher (bot/server/rasa_internals.py), so the
    # pipeline and the runtime fixes can be told apart.
    system["speedups"] = name != "stock" and not args.plain_rasa
    servers = BenchServers(
        workdir / name,
        Path(trained["model"]),
        env=args.rasa_env,
        tracker_store=args.tracker_store,
        speedups=system["speedups"],
        workers=args.rasa_workers,
    )
    servers.workdir.mkdir(parents=True, exist_ok=True)
    try:
        servers.start_actions()
        servers.start_rasa()
        print(f"[{name}] first answer {servers.cold_start_s:.1f} s after `rasa run`", flush=True)
        if name == "stock_fast":
            system["nlu_same_as"] = "stock"  # the same model: its scores are stock's
        else:
            texts = [e.text for e in heldout]
            parsed = asyncio.run(parse_over_http(servers.url, servers.token, texts))
            predictions = [prediction_from_parse(p) for p in parsed]
            system["nlu"] = {**scores(heldout, predictions), "sweep": sweep(heldout, predictions)}
        system["e2e"] = {
            "cold_start_s": round(servers.cold_start_s or 0.0, 2),
            "peak_memory_mb": servers.peak_memory_mb(),
            "rest": [],
            "parse": [],
        }
        if args.no_e2e:
            return system
        e2e.warm_up(servers.url, turns=4 if args.quick else 20)
        tracker_db = servers.tracker_db if args.tracker_store == "sql" else None

        def turns_at(levels: List[int], think_s: float = 0.0) -> List[Dict[str, Any]]:
            return e2e.rest_levels(
                servers.url,
                tracker_db,
                levels,
                args.turns,
                length=args.conversation_length,
                cpu=servers.cpu_seconds,
                think_s=think_s,
            )

        rest = turns_at(args.levels)
        paced = turns_at(args.paced_levels, think_s=args.think)
        parse = e2e.parse_levels(
            servers.url, servers.token, args.parse_levels, args.parse_requests, servers.cpu_seconds
        )
        # VmHWM is a high-water mark: read again after the load, it is the run's peak.
        system["e2e"].update(
            peak_memory_mb=servers.peak_memory_mb(), rest=rest, paced=paced, parse=parse
        )
    finally:
        servers.stop()
    return system


def summary(result: Dict[str, Any]) -> str:
    lines = []
    for system in result["systems"]:
        nlu = system.get("nlu") or {}
        parts = [f"{system['label']}:"]
        if system.get("skipped"):
            parts.append(f"skipped ({system['skipped']})")
        if nlu:
            parts.append(f"accuracy {nlu['accuracy']:.3f}, macro-F1 {nlu['macro_f1']:.3f}")
        for level in (system.get("e2e") or {}).get("rest", []):
            parts.append(
                f"[{level['concurrency']} conv: p95 {level['p95_ms']:.0f} ms, "
                f"{level['throughput_per_s']:.1f}/s]"
            )
        for level in (system.get("e2e") or {}).get("paced", []):
            parts.append(
                f"[{level['concurrency']} conv, {level['think_s']:g} s think: "
                f"p95 {level['p95_ms']:.0f} ms]"
            )
        lines.append(" ".join(parts))
    for check in result["targets"]:
        verdict = {True: "met", False: "NOT MET", None: "not measured"}[check["met"]]
        lines.append(f"target {check['target']}: {check['measured']} -> {verdict}")
    return "\n".join(lines)


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (see above)")
    parser.add_argument("--systems", default="ours,stock,stock_fast,tfidf")
    parser.add_argument(
        "--rasa-workers",
        type=int,
        default=1,
        help="Sanic worker processes per Rasa server (measurement only: no shared lock store)",
    )
    parser.add_argument(
        "--plain-rasa",
        action="store_true",
        help="serve ours by plain `rasa run`, without bot/server/rasa_internals.py (tuning log)",
    )
    parser.add_argument("--ours-config", type=Path, default=PROJECT_ROOT / "config.yml")
    parser.add_argument(
        "--ours-model", type=Path, help="measure this trained model as ours instead of training"
    )
    parser.add_argument("--levels", default="1,8,32", help="concurrent conversations")
    parser.add_argument(
        "--paced-levels", default="8", help="conversations with a think time ('' for none)"
    )
    parser.add_argument(
        "--think", type=float, default=1.0, help="seconds each paced conversation waits per answer"
    )
    parser.add_argument("--parse-levels", default="1,8", help="concurrent /model/parse clients")
    parser.add_argument("--turns", type=int, help="REST turns per level (default 200)")
    parser.add_argument("--parse-requests", type=int, help="/model/parse per level (default 200)")
    parser.add_argument("--conversation-length", type=int, default=10)
    parser.add_argument(
        "--reuse-models", action="store_true", help="use cached models trained from the same inputs"
    )
    parser.add_argument(
        "--rasa-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment for both servers, e.g. TF_INTRA_OP_PARALLELISM_THREADS=1",
    )
    parser.add_argument("--tracker-store", choices=("sql", "memory"), default="sql")
    parser.add_argument("--out-dir", type=Path, help="write bench.json, the doc and plot here")
    parser.add_argument("--json", type=Path, help="result JSON (default reports/bench.json)")
    parser.add_argument("--no-doc", action="store_true", help="JSON only (tuning experiments)")
    parser.add_argument(
        "--no-e2e", action="store_true", help="held-out scores, cold start and size only"
    )
    args = parser.parse_args(argv)
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = set(args.systems) - set(LABELS)
    if unknown:
        parser.error(f"unknown systems: {', '.join(sorted(unknown))}")
    args.levels = [int(c) for c in args.levels.split(",")]
    args.parse_levels = [int(c) for c in args.parse_levels.split(",") if c.strip()]
    args.paced_levels = [int(c) for c in args.paced_levels.split(",") if c.strip()]
    args.turns = args.turns or (16 if args.quick else 200)
    args.parse_requests = args.parse_requests or (16 if args.quick else 200)
    args.ours_config = args.ours_config.resolve()
    args.ours_model = args.ours_model.resolve() if args.ours_model else None
    env = {}
    for item in args.rasa_env:
        key, _, value = item.partition("=")
        env[key] = value
    args.rasa_env = env
    if args.quick and args.out_dir is None:
        args.out_dir = PROJECT_ROOT / "build" / "bench" / "quick"
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    machine = machine_info()
    heldout = load_examples(HELDOUT)
    if args.quick:
        heldout = first_per_intent(heldout, per_intent=2)
    systems = []
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        for name in args.systems:
            if name == "tfidf":
                print("[tfidf] training and scoring ...", flush=True)
                systems.append(run_tfidf(heldout, threshold=0.3, quick=args.quick))
            else:
                config = args.ours_config if name == "ours" else STOCK_CONFIG
                systems.append(run_rasa(name, config, heldout, args, Path(scratch)))
    machine["load_end"] = os.getloadavg()[0]

    out_dir: Optional[Path] = args.out_dir
    doc = (out_dir or PROJECT_ROOT / "docs") / "benchmarks.md"
    plot = (out_dir or PROJECT_ROOT / "docs") / "benchmark_tradeoff.png"
    json_path = args.json or (out_dir / "bench.json" if out_dir else None)
    json_path = json_path or PROJECT_ROOT / "reports" / "bench.json"
    result = {
        "command": " ".join(["scripts/bench.py", *(argv if argv is not None else sys.argv[1:])]),
        "started_at": started_at,
        "machine": machine,
        "settings": {
            "quick": args.quick,
            "heldout": str(HELDOUT.relative_to(PROJECT_ROOT)),
            "levels": args.levels,
            "parse_levels": args.parse_levels,
            "turns": args.turns,
            "parse_requests": args.parse_requests,
            "conversation_length": args.conversation_length,
            "paced_levels": args.paced_levels,
            "think_s": args.think,
            "rasa_env": args.rasa_env,
            "tracker_store": args.tracker_store,
            "plain_rasa": args.plain_rasa,
            "rasa_workers": args.rasa_workers,
            "plot_name": plot.name,
        },
        "systems": systems,
    }
    result["targets"] = report.targets(systems)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    if not args.no_doc:
        report.plot(systems, plot)
        report.write_doc(doc, report.render(result))
        print(f"wrote {doc}, {plot}")
    print(f"wrote {json_path}")
    print(summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
