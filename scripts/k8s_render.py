"""Renders the kustomize overlays of deploy/k8s with pykustomize (kustomize's
Go library, bundled in the wheel) into OUT/NAME.yaml, and the same objects
as a JSON list into OUT/NAME.json for the checks that follow.

    python k8s_render.py deploy/k8s OUT dev prod prod-hpa
"""

import asyncio
import json
import sys
from pathlib import Path

import pykustomize
import yaml


async def render(k8s: Path, out: Path, overlays: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in overlays:
        result = await pykustomize.build(str(k8s / "overlays" / name))
        docs = [d for d in yaml.safe_load_all(result.yaml) if d]
        (out / f"{name}.yaml").write_text(result.yaml)
        (out / f"{name}.json").write_text(json.dumps(docs, indent=1))
        print(f"  {name}: {len(docs)} objects -> {out / name}.yaml")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    asyncio.run(render(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]))
