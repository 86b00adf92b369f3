"""``dlfaq embeddings evaluate | neighbors | plot``: word-vector evaluation from the shell (Q12)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from dlfaq.commands._common import (
    JsonOpt,
    UserError,
    check_device,
    check_seed,
    command_group,
    print_json,
    print_table,
    progress_bar,
    short,
)

emb_app = command_group("embeddings", "Evaluate, query and plot word embeddings (Q12).")

DEFAULT_SOURCE = "glove-6b-50d"
SourceArg = typer.Argument(DEFAULT_SOURCE, help="Vectors file, or glove-6b-50d (the default).")
SourceOpt = typer.Option(DEFAULT_SOURCE, "--vectors", "-v", help="Vectors file, or glove-6b-50d.")
FormatOpt = typer.Option(
    None, "--format", "-f",
    help="word2vec, fasttext, glove, word2vec-bin or npy (default: guessed from the file).",
)


def _load(source: str, fmt: str | None) -> Any:
    from dlfaq.embeddings.io import FORMATS, LoadError, load

    if fmt is not None and fmt not in FORMATS:
        raise UserError(f"--format must be one of {', '.join(FORMATS)}, not {short(fmt, 40)!r}")
    try:
        return load(source, fmt)
    except FileNotFoundError:
        raise UserError(f"no such vectors file: {source!r} (or use glove-6b-50d)") from None
    except (LoadError, ModuleNotFoundError) as exc:
        # the loaders refuse FIFOs, devices and folders, and bound every read (line
        # lengths, header sizes checked against the file size before allocating)
        raise UserError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    except MemoryError:
        raise UserError(f"{source}: not enough memory to hold these vectors (try a smaller file)") from None
    except OSError as exc:
        raise UserError(f"cannot read {source!r}: {exc.strerror or exc}") from None


def _fmt(x: Any, digits: int = 4) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


@emb_app.command("evaluate")
def evaluate_cmd(
    source: str = SourceArg,
    fmt: str | None = FormatOpt,
    restrict_vocab: int = typer.Option(300000, "--restrict-vocab", help="Look words up among the first N rows only (gensim's default)."),
    case_sensitive: bool = typer.Option(False, "--case-sensitive", help="Do not fold case (gensim folds it by default)."),
    method: str = typer.Option("3cosadd", "--method", help="Analogy method: 3cosadd or 3cosmul."),
    device: str | None = typer.Option(None, "--device", help="torch device for the analogy scores (cpu, cuda)."),
    as_json: bool = JsonOpt,
) -> None:
    """Relatedness, analogy and categorization benchmarks in one table."""
    if method not in ("3cosadd", "3cosmul"):
        raise UserError(f"--method must be 3cosadd or 3cosmul, not {method!r}")
    if restrict_vocab < 4:
        raise UserError("--restrict-vocab must be at least 4")
    device = check_device(device)
    try:
        from dlfaq.embeddings.benchmarks import data_dir

        data_dir()
    except ModuleNotFoundError as exc:
        raise UserError(str(exc)) from None
    vec = _load(source, fmt)
    from dlfaq.embeddings.evaluate import evaluate_all

    with progress_bar(not as_json) as progress:
        try:
            res = evaluate_all(vec, restrict_vocab=restrict_vocab, case_insensitive=not case_sensitive,
                               analogy_method=method, device=device, progress=progress)  # type: ignore[arg-type]
        except ValueError as exc:
            raise UserError(str(exc)) from None
    if as_json:
        print_json(res)
        return
    rows = []
    for name in ("wordsim353", "simlex999"):
        r = res[name]
        rows.append([name, "Spearman", _fmt(r["spearman"]), f"Pearson {_fmt(r['pearson'])}",
                     f"{r['used']}/{r['pairs']} pairs, {r['oov']} OOV"])
    a = res["analogy"]
    for key, label in (("semantic", "analogy (semantic)"), ("syntactic", "analogy (syntactic)")):
        part = a[key]
        rows.append([label, "accuracy", _fmt(part["accuracy"]), f"{part['correct']}/{part['total']}",
                     f"{part['skipped']} skipped (OOV)"])
    rows.append(["analogy (total)", "accuracy", _fmt(a["accuracy"]), f"{a['correct']}/{a['total']}",
                 f"{a['skipped']} skipped (OOV), {a['method']}"])
    c = res["categorization"]
    rows.append(["categorization", "purity", _fmt(c["purity"]), f"NMI {_fmt(c['nmi'])}, ARI {_fmt(c['ari'])}",
                 f"{c['words']} words, {c['n_clusters']} categories, {c['oov']} OOV"])
    title = (f"{res['vectors']}: {res['size']} words x {res['dim']} dims; restrict_vocab={restrict_vocab}, "
             f"{'case-sensitive' if case_sensitive else 'case-insensitive'}, OOV items skipped")
    print_table(["benchmark", "metric", "score", "detail", "coverage"], rows, title=title)


@emb_app.command("neighbors")
def neighbors_cmd(
    word: str = typer.Argument(..., help="The query word."),
    source: str = SourceOpt,
    fmt: str | None = FormatOpt,
    k: int = typer.Option(10, "-k", "--top", help="How many neighbours."),
    restrict_vocab: int | None = typer.Option(None, "--restrict-vocab", help="Search the first N rows only."),
    as_json: bool = JsonOpt,
) -> None:
    """The nearest words by cosine similarity."""
    if k < 1:
        raise UserError("-k must be at least 1")
    if restrict_vocab is not None and restrict_vocab < 1:
        raise UserError(f"--restrict-vocab must be at least 1, not {restrict_vocab}")
    vec = _load(source, fmt)
    query = word
    if query not in vec and query.lower() in vec:
        query = query.lower()
    if query not in vec:
        raise UserError(f"{word!r} is not in the vocabulary of {source}")
    res = vec.most_similar(query, k, restrict_vocab=restrict_vocab)
    if as_json:
        print_json({"word": query, "neighbors": [{"word": w, "cosine": s} for w, s in res]})
        return
    print_table(["rank", "word", "cosine"], [[i + 1, w, f"{s:.4f}"] for i, (w, s) in enumerate(res)],
                title=f"nearest neighbours of {query!r}")


@emb_app.command("plot")
def plot_cmd(
    words: list[str] = typer.Argument(..., help="Words to place on the map (at least 3)."),
    source: str = SourceOpt,
    fmt: str | None = FormatOpt,
    method: str = typer.Option("pca", "--method", help="pca or tsne."),
    clusters: int = typer.Option(0, "--clusters", "-k", help="Colour by k-means clusters (0: no clustering)."),
    out: Path = typer.Option(Path("embeddings.png"), "--out", "-o", help="PNG file to write."),
    seed: int = typer.Option(0, "--seed"),
    as_json: bool = JsonOpt,
) -> None:
    """A 2-D map (PCA or t-SNE) of the given words, optionally coloured by k-means clusters."""
    if method not in ("pca", "tsne"):
        raise UserError(f"--method must be pca or tsne, not {method!r}")
    if out.suffix.lower() != ".png":
        raise UserError(f"--out must name a .png file, not {short(out)!r}")
    check_seed(seed)
    vec = _load(source, fmt)
    from dlfaq.embeddings.evaluate import lookup
    from dlfaq.embeddings.visualize import cluster_words, plot_words

    found, _ = lookup(vec, list(words), restrict_vocab=None)
    missing = [w for w in words if w not in found]
    if len(found) < 3:
        raise UserError(f"need at least 3 words in the vocabulary; found {len(found)} (missing: {', '.join(missing) or '-'})")
    if clusters and not 1 <= clusters <= len(found):
        raise UserError(f"--clusters must be between 1 and the number of words found ({len(found)})")
    labels = None
    if clusters:
        assign = cluster_words(vec, found, clusters, seed=seed)
        labels = {w: f"cluster {c}" for w, c in assign.items()}
    fig = plot_words(vec, found, labels=labels, method=method, seed=seed,  # type: ignore[arg-type]
                     title=f"{len(found)} words from {source}")
    try:
        fig.savefig(out, dpi=120, bbox_inches="tight")
    except OSError as exc:
        raise UserError(f"cannot write {str(out)!r}: {exc.strerror or exc}") from None
    if as_json:
        print_json({"file": str(out), "words": found, "missing": missing, "clusters": labels})
        return
    print(f"wrote {out} ({len(found)} words{', missing: ' + ', '.join(missing) if missing else ''})")


def register(app: typer.Typer) -> None:
    app.add_typer(emb_app, name="embeddings")
