"""Research benchmark over the offline corpus (the Debian doc packages, or a folder laid out like them).

    .venv/bin/python bench/research.py --questions bench/data/research_dev.json [--corpus /] [--model NAME]

Every question runs through the real pipeline (SearXNG source against the corpus service, the real fetcher with
the fetch hook) in extractive mode, and, in the same run, two baselines: a plain top-10 keyword search on the raw
question (its result pages count as cited), and the pipeline with planning off. Prints per kind and overall:
source recall, quote recall, citation precision (cited sentences the verifier supports), fabricated citations
(cited URL never fetched, or cited quote not in the fetched text) and seconds per question; the last line is
`research: source_recall=… quote_recall=… fabricated=N`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.research_corpus import CorpusIndex, CorpusService, CorpusTransport, corpus_resolver  # noqa: E402

from sophia.config import load_settings  # noqa: E402
from sophia.memory import default_embedder  # noqa: E402
from sophia.research import PageReader, ResearchService, contains_quote, support_score  # noqa: E402
from sophia.tools import WebFetcher, WebFetchSettings  # noqa: E402


def _metrics(
    question: dict[str, Any],
    cited: list[dict[str, Any]],
    claims: list[dict[str, Any]],
    fetched: dict[str, str],
) -> dict[str, float]:
    gold_urls = {s["url"] for s in question["sources"]}
    urls = {c["url"] for c in cited}
    quotes = [s["quote"] for s in question["sources"]]
    found_quotes = sum(any(contains_quote(c["text"], q) for c in cited) for q in quotes)
    fabricated = sum(
        c["url"] not in fetched or not contains_quote(fetched[c["url"]], c["text"]) for c in cited
    )
    by_n = {c.get("n"): c for c in cited}
    precise = [
        support_score(k["text"], by_n[k["citation"]]["text"]) >= 0.5 for k in claims if k["citation"] in by_n
    ]
    return {
        "source_recall": len(gold_urls & urls) / len(gold_urls),
        "quote_recall": found_quotes / len(quotes),
        "precision": sum(precise) / len(precise) if precise else 0.0,
        "fabricated": fabricated,
    }


async def _keyword_baseline(
    corpus: CorpusService, reader: PageReader, question: dict[str, Any]
) -> dict[str, float]:
    hits = corpus.index.search(question["question"], 10)
    cited, fetched = [], {}
    for url, _title, _snippet, _score in hits:
        try:
            document = await reader.read(url, source="searxng")
        except Exception:  # noqa: BLE001 - a page that cannot be read is simply not cited
            continue
        fetched[url] = document.text
        cited.append({"url": url, "text": document.text, "n": len(cited) + 1})
    return _metrics(question, cited, [], fetched)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=Path, default=Path("bench/data/research_dev.json"))
    parser.add_argument("--corpus", type=Path, default=Path("/"))
    parser.add_argument("--index", type=Path, default=Path(".cache/research-corpus.sqlite"))
    parser.add_argument("--depth", default="standard")
    parser.add_argument("--model", default=None, help="a configured model: the model mode runs too")
    args = parser.parse_args()
    args.index.parent.mkdir(parents=True, exist_ok=True)
    questions = json.loads(args.questions.read_text())
    index = CorpusIndex.build(args.corpus, args.index)
    embedder = default_embedder()
    rows: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    held_out = {q["id"] for q in questions[1::2]}  # constants are tuned on the other half only
    with CorpusService(index) as corpus:
        settings = load_settings(
            overrides={
                "research": {
                    "sources": ["searxng"],
                    "source": {"searxng": {"base_url": corpus.base_url}},
                    "remember_findings": False,
                }
            }
        )
        for question in questions:
            groups = [question["kind"], *(["held-out half"] if question["id"] in held_out else [])]
            reader = PageReader(
                WebFetcher(WebFetchSettings(), resolver=corpus_resolver, transport=CorpusTransport(corpus))
            )
            baseline = tuple((await _keyword_baseline(corpus, reader, question)).values()) + (0.0,)
            for kind in groups:
                rows["keyword top-10"][kind].append(baseline)
            for name, plan in (("pipeline, planning off", False), ("Sophia (extractive)", True)):
                reader = PageReader(
                    WebFetcher(
                        WebFetchSettings(), resolver=corpus_resolver, transport=CorpusTransport(corpus)
                    )
                )
                service = ResearchService(settings, embedder=embedder, resolve=lambda r: "", reader=reader)
                started = time.perf_counter()
                report = (
                    await service.research(
                        question["question"], depth=args.depth, mode="extractive", plan=plan
                    )
                ).json()
                seconds = time.perf_counter() - started
                fetched = {u: d.text for u, d in reader.fetched.items()}
                m = _metrics(question, report["citations"], report["claims"], fetched)
                for kind in groups:
                    rows[name][kind].append((*m.values(), seconds))
    print(f"{len(questions)} questions, {index.count()} pages")
    print(
        "| system | kind | n | source recall | quote recall | citation precision | fabricated | s/question |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    last = None
    for name, kinds in rows.items():
        every = [r for kind, rs in kinds.items() if kind != "held-out half" for r in rs]
        for kind, rs in [*sorted(kinds.items()), ("all", every)]:
            mean = [sum(col) / len(rs) for col in zip(*rs, strict=True)]
            fab = int(sum(r[3] for r in rs))
            print(
                f"| {name} | {kind} | {len(rs)} | {mean[0]:.3f} | {mean[1]:.3f} | {mean[2]:.3f} | {fab} | "
                f"{mean[4]:.2f} |"
            )
            if kind == "all":
                last = (name, mean, fab)
    assert last is not None
    _, mean, fab = last
    print(f"research: source_recall={mean[0]:.3f} quote_recall={mean[1]:.3f} fabricated={fab}")


if __name__ == "__main__":
    asyncio.run(main())
