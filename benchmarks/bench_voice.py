"""Voice of the customer at scale: 200,000 verbatims topic-modelled and scored; time and peak memory printed.

Usage: python benchmarks/bench_voice.py [N]            (default 200000 texts from the generator's planted topics)
       python benchmarks/bench_voice.py --folder PATH  (time :func:`cxlib.voice.build` on a unified workspace)

The N texts are written by the generator's text code (:mod:`cxlib.synth.verbatims`: planted topics, varied
wording, typos, personal data in some) with their planted topic. Timed: language detection, sentiment, the
topic model (TF-IDF, the number of topics chosen by stability on a sample, NMF on all texts), each text's topic
weights, and three redacted quotes per topic. Quality: adjusted mutual information with the planted topics.
Peak memory is the process's maximum resident set.
"""

from __future__ import annotations

import os
import resource
import sys
import time


def _texts(n: int, seed: int = 7):
    import numpy as np

    from cxlib.synth.verbatims import TOPICS, _sentence

    rng = np.random.default_rng(seed)
    names = list(TOPICS)
    topic = rng.integers(len(names), size=n)
    return [_sentence(rng, names[t]) for t in topic], topic


def bench_texts(n: int) -> None:
    import numpy as np
    from sklearn.metrics import adjusted_mutual_info_score

    from cxlib import voice

    t0 = time.perf_counter()
    texts, truth = _texts(n)
    print(f"generated {n:,} texts in {time.perf_counter() - t0:.1f} s (untimed below)")
    steps = {}
    t = time.perf_counter()
    lang = [voice.detect(x) for x in texts]
    steps["language"] = time.perf_counter() - t
    t = time.perf_counter()
    sent = voice.sentiments(texts)
    steps["sentiment"] = time.perf_counter() - t
    t = time.perf_counter()
    model = voice.fit_topics(texts, seed=0)
    steps["topics (k by stability + NMF)"] = time.perf_counter() - t
    t = time.perf_counter()
    W = model.weights(texts)
    steps["topic weights"] = time.perf_counter() - t
    t = time.perf_counter()
    r = voice.Redactor()
    top = np.argsort(-W, axis=0)[:3]
    quotes = [[r(texts[i]) for i in top[:, k]] for k in range(W.shape[1])]
    steps["quotes (redacted)"] = time.perf_counter() - t
    total = sum(steps.values())
    ami = adjusted_mutual_info_score(truth, W.argmax(axis=1))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"cores: {os.cpu_count()}  texts: {n:,}  topics chosen: {W.shape[1]}  AMI vs planted: {ami:.3f}")
    for k, v in steps.items():
        print(f"  {k:32s} {v:7.1f} s")
    print(f"  {'total':32s} {total:7.1f} s   peak RSS {peak:,.0f} MB")
    print(f"  english: {np.mean([x == 'en' for x in lang]):.0%}  mean sentiment {sent.mean():+.2f}  "
          f"sample quote: {quotes[0][0][:80]!r}")


def bench_folder(folder: str) -> None:
    from cxlib import voice

    t = time.perf_counter()
    res = voice.build(folder)
    took = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(res.summary())
    print(f"cores: {os.cpu_count()}  voice.build: {took:.1f} s  peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--folder":
        bench_folder(sys.argv[2])
    else:
        bench_texts(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
