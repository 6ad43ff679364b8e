"""Write the service's OpenAPI schema to docs/openapi.json (test_api checks it is current).

Run: .venv/bin/python tests/service/write_openapi.py
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from veil.service import ServiceSettings, create_app

TARGET = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:  # the schema needs no data; the app is never started
        schema = create_app(ServiceSettings(data_dir=Path(folder))).openapi()
    TARGET.parent.mkdir(exist_ok=True)
    TARGET.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
