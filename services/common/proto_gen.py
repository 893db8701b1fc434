"""Render the bus contract into `proto/`: one JSON Schema per payload model and the topic table.

`make proto` writes the files; `tests/contract/test_proto.py` fails when the checked-in files
differ from what this renders, so the contract and its documents change in one commit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .contract import TOPICS, Reply, Topic

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path("proto/schemas")
TABLE = Path("proto/topics.md")


def _models() -> dict[str, type[BaseModel]]:
    models: dict[str, type[BaseModel]] = {}
    for topic in TOPICS:
        for model in (topic.payload, topic.reply):
            if model is None:
                continue
            known = models.setdefault(model.__name__, model)
            if known is not model:
                raise ValueError(f"two payload models are named {model.__name__}")
    return models


def schemas() -> dict[Path, str]:
    """File path (relative to the repo) → JSON text."""
    out: dict[Path, str] = {}
    for name, model in sorted(_models().items()):
        schema = model.model_json_schema()
        schema["$id"] = f"chargebus/{name}.json"
        out[SCHEMAS / f"{name}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    envelope = Reply[BaseModel].model_json_schema()
    envelope["$id"] = "chargebus/Reply.json"
    envelope["title"] = "Reply"
    out[SCHEMAS / "Reply.json"] = json.dumps(envelope, indent=2, sort_keys=True) + "\n"
    return out


def _row(topic: Topic) -> str:
    reply = f"[{topic.reply.__name__}](schemas/{topic.reply.__name__}.json)" if topic.reply else ""
    subscribers = ", ".join(topic.subscribers) or "-"
    schema = f"[{topic.payload.__name__}](schemas/{topic.payload.__name__}.json)"
    return (
        f"| `{topic.path}` | {topic.kind} | {topic.owner} | {subscribers} | {topic.qos} | "
        f"{'yes' if topic.retain else 'no'} | {schema} | {reply} | {topic.doc} |"
    )


def _example(topic: Topic) -> str:
    example: Any = topic.example
    return f"- `{topic.path}`: `{json.dumps(example, separators=(', ', ': '))}`"


def table() -> str:
    lines = [
        "# Topic table",
        "",
        "Generated from `services/common/contract/` by `make proto`; do not edit by hand.",
        "A command's request is published below its path with the caller's address,",
        "`<command>/<caller client id>/<request id>/<deadline, epoch ms>`, and answered on",
        "`chargebus/<owner>/reply/<caller client id>/<request id>`",
        "as `{\"ok\": true, \"result\": <reply>}` or `{\"ok\": false, \"error\": {\"code\", \"message\"}}`",
        "([Reply](schemas/Reply.json)), at QoS 0. `{name}` segments are parameters (`+` when subscribing).",
        "",
        "| topic | kind | publisher | subscribers | QoS | retained | payload | reply | behaviour |",
        "|---|---|---|---|---|---|---|---|---|",
        *(_row(t) for t in TOPICS),
        "",
        "## Examples",
        "",
        *(_example(t) for t in TOPICS if t.example is not None),
        "",
    ]
    return "\n".join(lines)


def rendered() -> dict[Path, str]:
    files = schemas()
    files[TABLE] = table()
    return files


def stale(root: Path = ROOT) -> list[str]:
    """Files that differ from what the contract renders (missing, changed, or left over)."""
    files = rendered()
    problems = [str(p) for p, text in files.items() if not (root / p).is_file() or (root / p).read_text() != text]
    for path in (root / SCHEMAS).glob("*.json"):
        if path.relative_to(root) not in files:
            problems.append(f"{path.relative_to(root)} (no longer in the contract)")
    return problems


def write(root: Path = ROOT) -> None:
    (root / SCHEMAS).mkdir(parents=True, exist_ok=True)
    files = rendered()
    for path in (root / SCHEMAS).glob("*.json"):
        if path.relative_to(root) not in files:
            path.unlink()
    for path, text in files.items():
        (root / path).write_text(text)


def main() -> int:
    write()
    sys.stdout.write(f"wrote {len(rendered())} files under proto/\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
