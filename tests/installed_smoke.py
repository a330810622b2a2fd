"""Run by .ci/package with the python of a fresh virtualenv that has only the built wheel installed, in an
empty folder outside the checkout: what a developer gets from `pip install ask-articles`.

argv: a folder of articles to copy in as `corpus/`, and a PDF (the wheel is installed without the `pdf`
extra, so it must be skipped with the install hint, not crash the ingest). Exits non-zero with the reason on the first failure.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

QUESTION = "How many GPUs did Twitter buy?"


def check(ok: bool, what: str) -> None:
    if not ok:
        sys.exit(f"FAIL: {what}")
    print(f"ok: {what}")


def main() -> None:
    work = Path.cwd()
    shutil.copytree(sys.argv[1], work / "corpus", ignore=shutil.ignore_patterns("uploads"))
    shutil.copy(sys.argv[2], work / "corpus" / "report.pdf")

    import rag
    check("site-packages" in rag.__file__, f"rag is imported from the installed wheel ({rag.__file__})")

    command = shutil.which("ask-articles")
    check(command is not None, "the ask-articles console command is on PATH")
    ingest = subprocess.run([command, "ingest", "--json"], capture_output=True, text=True, timeout=600)
    check(ingest.returncode == 0, f"ask-articles ingest exits 0 (stderr: {ingest.stderr[-300:]!r})")
    report = json.loads(ingest.stdout)
    check(len(report["added"]) >= 1, "ingest reports the articles it added")
    check(report["skipped"] == [["report.pdf", "reading this format needs 'pypdf': pip install 'ask-articles[pdf]'"]],
          f"without the pdf extra a PDF is skipped with the install hint: {report['skipped']}")
    check((work / ".rag_index").is_dir(), "the index is made in the current folder by default")

    asked = subprocess.run([command, "ask", QUESTION, "--json"], capture_output=True, text=True, timeout=300)
    check(asked.returncode == 0, f"ask-articles ask --json exits 0 (stderr: {asked.stderr[-300:]!r})")
    answer = json.loads(asked.stdout)
    check(not answer["abstained"] and "10,000" in answer["answer"], f"the CLI answers: {answer['answer'][:120]!r}")
    check(bool(answer["citations"]) and "[1]" in answer["answer"], "the CLI's answer is cited")
    for c in answer["citations"]:
        check(c["quote"] and c["quote"] in c["text"], f"citation [{c['n']}] quotes its passage")

    module = subprocess.run([sys.executable, "-m", "rag", "ask", QUESTION], capture_output=True, text=True,
                            timeout=300)
    check(module.returncode == 0 and "[1]" in module.stdout, "python -m rag still works")

    from rag import Assistant

    assistant = Assistant()
    answer = assistant.ask(QUESTION)
    check(not answer.abstained and answer.citations and answer.citations[0].quote in answer.citations[0].text,
          f"Assistant().ask answers with a cited quote: {answer.text[:100]!r}")
    check(assistant.ask("What is Tesla's share price?").abstained, "Assistant().ask abstains when the articles are silent")

    response = assistant.as_query_engine().query(QUESTION)
    check(bool(response.source_nodes) and response.metadata["citations"], "as_query_engine() answers with sources")

    from rag import web

    check(callable(web.build), "the page is importable from the package")
    print("installed package: all checks passed")


if __name__ == "__main__":
    main()
