"""Need themes (userops.predict.themes) recovered from the sample generator's notes.

The generator (``userops.sources.vocab.followup_note``) gives each company a latent
need and writes it into a conversation's note with noise (another need in a fifth of
them, remarks about the call, stock phrases, notes with no need at all). The theme
model sees only the text: its assignment must match the need written, by adjusted
Rand index, above the bar stated here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from userops.config import DBT_PROJECT_DIR, project_vars
from userops.predict.themes import (
    UNASSIGNED,
    ThemeFitError,
    ThemeModel,
    fit_themes,
    load_seed_themes,
    tokenize,
)
from userops.sources.vocab import sample_notes

#: The stated bar: adjusted Rand index of assigned vs written need (no need = its own class).
ARI_BAR = 0.9
SEED = DBT_PROJECT_DIR / "seeds" / "need_themes.csv"


def generated_notes(n: int, seed: int) -> tuple[list[str], list[str]]:
    """``n`` notes of 400 companies and the need each was written with (``none``)."""
    return sample_notes(n, seed, companies=400)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> tuple[ThemeModel, list[list[str]], list[str], Path]:
    cache = tmp_path_factory.mktemp("jieba")
    notes, truth = generated_notes(3000, seed=7)
    tokens = [tokenize(n, cache) for n in notes]
    v = project_vars()
    model = fit_themes(
        tokens, load_seed_themes(SEED), background=int(v["need_theme_background_components"]),
        min_df=int(v["need_theme_min_df"]), min_notes=int(v["need_theme_min_notes"]),
    )  # fmt: skip
    return model, tokens, truth, cache


def _top(model: ThemeModel, tokens: list[list[str]]) -> list[str]:
    return model.top_themes(tokens, float(project_vars()["need_theme_min_score"]))


def test_themes_are_recovered_from_generated_notes(fitted) -> None:
    model, tokens, truth, _ = fitted
    predicted = _top(model, tokens)
    ari = adjusted_rand_score(truth, predicted)
    print(f"ARI on 3000 generated notes: {ari:.3f} (bar {ARI_BAR})")
    assert ari >= ARI_BAR
    # the seeded components keep the seed's names: a theme is mostly its own need
    for theme in model.theme_ids:
        mine = [p for p, t in zip(predicted, truth, strict=True) if t == theme]
        assert mine.count(theme) / len(mine) > 0.8, theme
    # notes that say nothing about a need are not forced into a theme
    none = [p for p, t in zip(predicted, truth, strict=True) if t == "none"]
    assert none.count(UNASSIGNED) / len(none) > 0.95


def test_new_notes_are_assigned_by_a_stored_model(fitted) -> None:
    """A model fitted on one window assigns notes it never saw (the nightly path), and
    survives its JSON round trip (meta.need_theme_fits) unchanged."""
    model, _, _, cache = fitted
    stored = ThemeModel.from_json(model.to_json())
    notes, truth = generated_notes(800, seed=99)
    tokens = [tokenize(n, cache) for n in notes]
    assert _top(stored, tokens) == _top(model, tokens)
    assert adjusted_rand_score(truth, _top(stored, tokens)) >= ARI_BAR


def test_a_notes_shares_do_not_depend_on_its_batch(fitted) -> None:
    """Nights assign different batches of notes (a backfill, a catch-up, one day): a
    note's shares must be exactly the same alone or among others."""
    model, tokens, _, _ = fitted
    together = model.scores(tokens[:200])
    for i in (0, 57, 199):
        assert np.array_equal(model.scores([tokens[i]])[0], together[i])
    assert np.array_equal(model.scores(tokens[100:200]), together[100:])


def test_keywords_are_readable_and_the_fit_deterministic(fitted) -> None:
    model, tokens, _, _ = fitted
    seeds = {t.theme_id: t.seed_keywords for t in load_seed_themes(SEED)}
    for theme, words in model.keywords(8).items():
        assert len(words) == 8
        assert any(s in w for w in words[:3] for s in seeds[theme]), (theme, words)
    v = project_vars()
    again = fit_themes(
        tokens, load_seed_themes(SEED), background=int(v["need_theme_background_components"]),
        min_df=int(v["need_theme_min_df"]), min_notes=int(v["need_theme_min_notes"]),
    )  # fmt: skip
    assert again.to_json() == model.to_json()


def test_tokens_drop_stock_words_and_jieba_caches_in_the_given_dir(fitted) -> None:
    _, _, _, cache = fitted
    assert tokenize("电话未接通，稍后再拨", cache) == []
    assert tokenize(None, cache) == [] and tokenize("", cache) == []
    assert "私有化部署" in tokenize("客户要求私有化部署", cache)  # the user dictionary
    assert (cache / "jieba.cache").exists()


def test_unknown_words_and_empty_notes_are_unassigned(fitted) -> None:
    model, _, _, cache = fitted
    tokens = [tokenize(n, cache) for n in ("", "今天天气不错", "电话未接通")]
    assert model.assign(tokens, 0.4) == [[], [], []]


def test_too_few_notes_is_a_fit_error(fitted) -> None:
    _, tokens, _, _ = fitted
    with pytest.raises(ThemeFitError, match="fewer than 50"):
        fit_themes(tokens[:60], load_seed_themes(SEED), min_notes=50)


def test_a_bad_seed_fails_in_one_line(tmp_path) -> None:
    bad = tmp_path / "need_themes.csv"
    bad.write_text("theme_id,theme_label,seed_keywords\nprice,价格,\n", encoding="utf-8")
    with pytest.raises(ValueError, match="seed_keywords"):
        load_seed_themes(bad)
