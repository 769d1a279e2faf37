"""``python -m bench.readme``: the README's numbers table from ``bench/out/latest.json``, with
the run's date, commit and provenance, so the README is pasted from a run rather than
retyped."""

from __future__ import annotations

import json
import sys
from typing import Any

from bench.__main__ import OUT


def markdown(document: dict[str, Any]) -> str:
    env = document["environment"]
    clone = (
        f"a fresh `git clone` of main (cloned {env['cloned_at']})"
        if env.get("fresh_clone")
        else "a checkout that is NOT a fresh clone (" + "; ".join(env["why_not_fresh"]) + ")"
    )
    missing = env.get("missing_system") or []
    lines = [
        f"Latest run: `make bench` in {clone}, commit {env['commit']}, finished "
        f"{document['generated_at']}, {env['cpu_count']} cores, Python {env['python']}"
        + (f"; MISSING: {'; '.join(missing)}" if missing else "")
        + f"; {sum(b['seconds'] for b in document['benches'].values()):.0f} s in all.",
        "",
        "| bench | project | baseline (same run) | ratio | target | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, bench in document["benches"].items():
        if "error" in bench:
            lines.append(f"| {name} | failed: {bench['error']} | | | | |")
            continue
        met = "yes" if bench["met"] else "no"
        cells = (name, bench["figure"], bench["baseline"], bench["ratio"], bench["target"], met)
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def main() -> int:
    if not OUT.exists():
        print(f"no {OUT}: run `make bench` first", file=sys.stderr)
        return 1
    print(markdown(json.loads(OUT.read_text(encoding="utf-8"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
