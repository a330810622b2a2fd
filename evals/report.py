"""Run reports in evals/reports/ (git-ignored): JSON (every question and the means), Markdown (a
per-question table) and a PNG chart of the means against the thresholds and the baseline."""
from __future__ import annotations

import json
from pathlib import Path

REPORTS = Path(__file__).resolve().parent / "reports"


def _cell(text: object, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    text = text if len(text) <= limit else text[: limit - 1] + "\u2026"
    return text.replace("|", "\\|")


def _fmt(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else ("-" if value is None else str(value))


def write_json(run: dict, path: Path) -> None:
    path.write_text(json.dumps(run, indent=1, default=str) + "\n", encoding="utf-8")


def write_markdown(run: dict, path: Path, chart: Path | None) -> None:
    means, limits = run["means"], run.get("thresholds", {})
    base = (run.get("baseline") or {}).get("means", {})
    lines = [f"# Eval report: {run['dataset']}", "",
             f"- started: {run['started']}; engine: {run['engine']}; index: `{run['index_dir']}`",
             f"- result: **{'PASS' if run['passed'] else 'FAIL'}**", ""]
    if run.get("gate_failures"):
        lines += ["## Gate failures", ""] + [f"- {line}" for line in run["gate_failures"]] + [""]
    if chart is not None:
        lines += [f"![metric means]({chart.name})", ""]
    lines += ["## Means", "", "| metric | mean | threshold | baseline |", "|---|---|---|---|"]
    for name, value in means.items():
        lines.append(f"| {name} | {_fmt(value)} | {_fmt(limits.get(name))} | {_fmt(base.get(name))} |")
    if run.get("judge"):
        lines += ["", "## Judge", "", "```", json.dumps(run["judge"], indent=1), "```"]
    if run.get("retrieval"):
        lines += ["", "## Retrieval", "", "```", json.dumps(run["retrieval"], indent=1), "```"]
    if run.get("parts"):
        from .metrics import group_table

        lines += ["", "## Per part, class and answer type", "",
                  group_table({part: data["groups"] for part, data in run["parts"].items()})]
    score_names = sorted({k for r in run["results"] for k in r["scores"]})
    lines += ["", "## Questions", "",
              "| id | question | answer | citations | " + " | ".join(score_names) + " | ms | pass |",
              "|" + "---|" * (len(score_names) + 6)]
    for r in run["results"]:
        cites = "; ".join(f"[{c['n']}] {c['article_id']}" for c in r["citations"]) or "-"
        answer = ("(abstained) " if r["abstained"] else "") + r["answer"]
        scores = " | ".join(_fmt(r["scores"].get(k)) for k in score_names)
        lines.append(f"| {r['id']} | {_cell(r['question'], 90)} | {_cell(answer)} | {_cell(cites, 120)} | "
                     f"{scores} | {r['latency_ms']:.0f} | {'pass' if r['passed'] else '**FAIL** ' + _cell(', '.join(r['why']), 100)} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_chart(run: dict, path: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    means = {k: v for k, v in run["means"].items()
             if isinstance(v, float) and 0.0 <= v <= 1.0 and not k.startswith("latency")}
    if not means:
        return None
    names = list(means)
    limits = run.get("thresholds", {})
    base = (run.get("baseline") or {}).get("means", {})
    fig, ax = plt.subplots(figsize=(10, 0.42 * len(names) + 1.6))
    y = range(len(names))
    ax.barh(list(y), [means[n] for n in names], color="#4c78a8", label="this run")
    bx = [(i, base[n]) for i, n in enumerate(names) if isinstance(base.get(n), (int, float))]
    if bx:
        ax.scatter([v for _, v in bx], [i for i, _ in bx], marker="D", color="#f58518", zorder=3,
                   label="baseline")
    tx = [(i, limits[n]) for i, n in enumerate(names) if n in limits]
    if tx:
        ax.scatter([v for _, v in tx], [i for i, _ in tx], marker="|", s=400, color="#e45756", zorder=4,
                   label="threshold")
    ax.set_yticks(list(y), names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.05)
    ax.set_title(f"{run['dataset']}: metric means ({'PASS' if run['passed'] else 'FAIL'})")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_reports(run: dict, out_dir: Path | None = None) -> dict[str, Path]:
    out = Path(out_dir or REPORTS)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{run['dataset']}-{run['started'].replace(':', '').replace('-', '')}"
    paths = {"json": out / f"{stem}.json", "markdown": out / f"{stem}.md", "chart": out / f"{stem}.png"}
    chart = write_chart(run, paths["chart"])
    if chart is None:
        paths.pop("chart")
    write_json(run, paths["json"])
    write_markdown(run, paths["markdown"], chart)
    return paths
