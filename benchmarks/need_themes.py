"""Need themes (jieba + TF-IDF + seeded NMF): tokenising, fitting and assigning at size.

    .venv/bin/python benchmarks/need_themes.py                  # 20k notes
    .venv/bin/python benchmarks/need_themes.py --notes 200000

Notes come from the sample generator (``userops.sources.vocab.followup_note``): random
outcomes and companies, each company with a latent need. Prints the time to tokenise,
to fit a period's model, to assign a night's new notes (``--night`` notes), and the
adjusted Rand index of the assignment against the need written; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from sklearn.metrics import adjusted_rand_score

from userops.config import DBT_PROJECT_DIR, project_vars
from userops.predict.themes import UNASSIGNED, fit_themes, load_seed_themes, tokenize
from userops.sources.vocab import sample_notes


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=20000, help="notes in the fit window")
    parser.add_argument("--night", type=int, default=2000, help="new notes of one night")
    args = parser.parse_args(argv)
    v = project_vars()
    themes = load_seed_themes(DBT_PROJECT_DIR / "seeds" / "need_themes.csv")
    texts, _ = sample_notes(args.notes, seed=1, companies=max(args.notes // 8, 1))
    night_texts, night_truth = sample_notes(args.night, seed=2, companies=max(args.notes // 8, 1))
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        tokenize("预热", Path(cache))  # jieba loads its dictionary once per process
        warmup = time.perf_counter() - started
        started = time.perf_counter()
        tokens = [tokenize(t, Path(cache)) for t in texts]
        tokenise_s = time.perf_counter() - started
        started = time.perf_counter()
        model = fit_themes(
            tokens, themes, background=int(v["need_theme_background_components"]),
            min_df=int(v["need_theme_min_df"]), min_notes=int(v["need_theme_min_notes"]),
        )  # fmt: skip
        fit_s = time.perf_counter() - started
        started = time.perf_counter()
        night_tokens = [tokenize(t, Path(cache)) for t in night_texts]
        predicted = model.top_themes(night_tokens, float(v["need_theme_min_score"]))
        night_s = time.perf_counter() - started
    figures = {
        "notes_fitted": args.notes,
        "vocabulary": len(model.vocabulary),
        "jieba_load_s": round(warmup, 2),
        "tokenise_s": round(tokenise_s, 2),
        "notes_per_s": round(args.notes / tokenise_s),
        "fit_s": round(fit_s, 2),
        "night_notes": args.night,
        "night_assign_s": round(night_s, 2),
        "ari_night": round(adjusted_rand_score(night_truth, predicted), 4),
        "unassigned_share": round(predicted.count(UNASSIGNED) / len(predicted), 3),
    }
    for key, value in figures.items():
        print(f"  {key:<18} {value}")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
