"""Need themes of follow-up notes: jieba tokens, TF-IDF and a seeded NMF (pure functions).

The reps' notes (``followups.note``, free Chinese text) say what a customer cares
about. :func:`fit_themes` learns the themes from a window of notes:

1. **Tokens**: jieba with the project's user dictionary (``resources/need_userdict.txt``:
   product and domain words such as 私有化部署, ERP), minus the domain stop words
   (``resources/need_stopwords.txt``: what every note says whatever the need: 回电,
   未接通, 客户 ...), minus punctuation, numbers and single characters.
2. **TF-IDF** (sublinear term frequency, terms in at least ``min_df`` notes).
3. **NMF** with one component per named theme of the seed ``need_themes`` (theme id,
   Chinese label, seed keywords), initialised from the seed keywords, plus
   ``background`` unnamed components that soak up what no theme explains (stock
   phrases of the CRM). The seeding keeps theme *k* on the seed's theme *k* across
   refits, so a theme is named once, in the seed, and keeps its name.

:meth:`ThemeModel.scores` gives each note its share of every component; a note's
themes are the named ones whose share reaches ``min_score``; a note with none (only
stock phrases, unknown words, an empty note) is *unassigned*, never forced.
Everything is deterministic: same notes, same model.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

RESOURCES = Path(__file__).with_name("resources")
USER_DICT = RESOURCES / "need_userdict.txt"
STOP_WORDS = RESOURCES / "need_stopwords.txt"
UNASSIGNED = "unassigned"
_WORD = re.compile(r"[\w\u4e00-\u9fff]+")
_NUMBER = re.compile(r"^[\d.x×%]+$", re.IGNORECASE)


class ThemeFitError(ValueError):
    """Too few notes (or words) to learn themes from."""


@dataclass(frozen=True)
class NeedTheme:
    theme_id: str
    label: str
    seed_keywords: tuple[str, ...]


def load_seed_themes(path: Path) -> list[NeedTheme]:
    """The named themes of the dbt seed ``need_themes.csv`` (file order = theme order)."""
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    themes = [
        NeedTheme(r["theme_id"].strip(), r["theme_label"].strip(),
                  tuple(r["seed_keywords"].split()))
        for r in rows
    ]  # fmt: skip
    if not themes or any(not t.theme_id or not t.seed_keywords for t in themes):
        raise ValueError(f"{path}: every need theme needs a theme_id and seed_keywords")
    if UNASSIGNED in {t.theme_id for t in themes}:
        raise ValueError(f"{path}: theme_id {UNASSIGNED!r} is reserved")
    return themes


@cache
def _stop_words() -> frozenset[str]:
    lines = STOP_WORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


@cache
def _tokenizer(cache_dir: str):
    import jieba

    jieba.setLogLevel(30)  # no "Building prefix dict" chatter in task logs
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    tokenizer = jieba.Tokenizer()
    tokenizer.tmp_dir = cache_dir  # jieba's dictionary cache: never /tmp
    tokenizer.load_userdict(str(USER_DICT))
    return tokenizer


def tokenize(note: str | None, cache_dir: Path) -> list[str]:
    """The words of a note that can carry a need (see the module docstring)."""
    if not note:
        return []
    stop = _stop_words()
    words = []
    for token in _tokenizer(str(cache_dir)).lcut(note):
        token = token.strip()
        if len(token) < 2 or token in stop or not _WORD.fullmatch(token) or _NUMBER.match(token):
            continue
        words.append(token)
    return words


@dataclass(frozen=True)
class ThemeModel:
    """A fitted model: the TF-IDF vocabulary and weights, and the NMF components."""

    vocabulary: tuple[str, ...]
    idf: np.ndarray  # (V,)
    components: np.ndarray  # (K + background, V)
    theme_ids: tuple[str, ...]  # the K named themes, in component order

    def _tfidf(self, tokens: Sequence[Sequence[str]]):
        from scipy.sparse import csr_matrix

        index = {w: i for i, w in enumerate(self.vocabulary)}
        rows, cols, vals = [], [], []
        for r, words in enumerate(tokens):
            counts: dict[int, int] = {}
            for w in words:
                j = index.get(w)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            for j, c in counts.items():
                rows.append(r)
                cols.append(j)
                vals.append((1.0 + np.log(c)) * self.idf[j])
        x = csr_matrix((vals, (rows, cols)), shape=(len(tokens), len(self.vocabulary)))
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return csr_matrix(x.multiply(1.0 / norms[:, None]))

    def scores(self, tokens: Sequence[Sequence[str]]) -> np.ndarray:
        """(notes x components) shares: each row sums to 1, or is 0 for a note with no
        known word. Columns: the named themes, then the background components."""
        from scipy.optimize import nnls

        # Each note on its own (non-negative least squares against the components):
        # a note's shares never depend on which other notes share its batch, so the
        # nightly assignment is the same whichever dates ran and in what order.
        x = self._tfidf(tokens)
        basis = self.components.T  # (V, K)
        w = np.zeros((len(tokens), self.components.shape[0]))
        for i in range(x.shape[0]):
            row = x.getrow(i)
            if row.nnz:
                w[i], _ = nnls(basis, row.toarray().ravel())
        totals = w.sum(axis=1, keepdims=True)
        return np.divide(w, totals, out=np.zeros_like(w), where=totals > 0)

    def assign(
        self, tokens: Sequence[Sequence[str]], min_score: float
    ) -> list[list[tuple[str, float]]]:
        """Per note: its named themes with share >= ``min_score``, best first (ties ->
        component order); empty when none (unassigned)."""
        return self.themes_of(self.scores(tokens), min_score)

    def themes_of(self, shares: np.ndarray, min_score: float) -> list[list[tuple[str, float]]]:
        """:meth:`assign` on shares already solved (:meth:`scores`)."""
        k = len(self.theme_ids)
        out = []
        for row in shares:
            named = [(self.theme_ids[j], float(row[j])) for j in range(k) if row[j] >= min_score]
            out.append(sorted(named, key=lambda t: -t[1]))
        return out

    def top_themes(self, tokens: Sequence[Sequence[str]], min_score: float) -> list[str]:
        """Per note: its best named theme, or ``unassigned``."""
        return [found[0][0] if found else UNASSIGNED for found in self.assign(tokens, min_score)]

    def keywords(self, n: int = 8) -> dict[str, list[str]]:
        """The ``n`` heaviest words of every named theme (readable theme content)."""
        out = {}
        for j, theme in enumerate(self.theme_ids):
            order = np.argsort(-self.components[j], kind="stable")[:n]
            out[theme] = [self.vocabulary[i] for i in order if self.components[j, i] > 0]
        return out

    def to_json(self) -> str:
        return json.dumps(
            {
                "vocabulary": list(self.vocabulary),
                "idf": [round(float(v), 12) for v in self.idf],
                "components": [[round(float(v), 12) for v in row] for row in self.components],
                "theme_ids": list(self.theme_ids),
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> ThemeModel:
        data = json.loads(text)
        return cls(
            vocabulary=tuple(data["vocabulary"]),
            idf=np.asarray(data["idf"], dtype=float),
            components=np.asarray(data["components"], dtype=float),
            theme_ids=tuple(data["theme_ids"]),
        )


def fit_themes(
    tokens: Iterable[Sequence[str]],
    themes: Sequence[NeedTheme],
    *,
    background: int = 2,
    min_df: int = 3,
    min_notes: int = 50,
) -> ThemeModel:
    """Fit TF-IDF + seeded NMF on tokenised notes (notes without words are skipped)."""
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = [list(t) for t in tokens if t]
    if len(docs) < min_notes:
        raise ThemeFitError(f"{len(docs)} notes with words, fewer than {min_notes}")
    vectorizer = TfidfVectorizer(
        analyzer=lambda words: words, min_df=min_df, sublinear_tf=True, norm="l2"
    )
    try:
        x = vectorizer.fit_transform(docs)
    except ValueError as exc:  # no term in min_df notes
        raise ThemeFitError(str(exc)) from exc
    vocabulary = tuple(vectorizer.get_feature_names_out().tolist())
    k = len(themes) + background
    h0 = np.full((k, len(vocabulary)), 1e-3)
    for j, theme in enumerate(themes):
        for i, word in enumerate(vocabulary):
            if any(seed in word for seed in theme.seed_keywords):
                h0[j, i] = 1.0
    rng = np.random.default_rng(0)  # background components: fixed, seed-independent start
    h0[len(themes) :] = rng.random((background, len(vocabulary))) * 0.1
    w0 = np.maximum(np.asarray(x @ h0.T), 1e-6)
    w0 /= w0.sum(axis=1, keepdims=True)
    nmf = NMF(n_components=k, init="custom", max_iter=500, tol=1e-5)
    nmf.fit(x, W=w0, H=h0)
    return ThemeModel(
        vocabulary=vocabulary,
        idf=np.asarray(vectorizer.idf_, dtype=float),
        components=np.asarray(nmf.components_, dtype=float),
        theme_ids=tuple(t.theme_id for t in themes),
    )
