"""The same schema check done by python-jsonschema, a widely used general-purpose validator:
load the YAML with PyYAML's C loader, then validate against schemas/manifest.schema.json.

Usage: python3 benches/jsonschema_check.py SCHEMA.json MANIFEST.yaml
"""

import json
import sys

import jsonschema
import yaml


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as handle:
        schema = json.load(handle)
    with open(sys.argv[2], encoding="utf-8") as handle:
        document = yaml.load(handle, Loader=yaml.CSafeLoader)
    validator = jsonschema.Draft202012Validator(schema)
    errors = list(validator.iter_errors(document))
    for error in errors[:10]:
        print(f"{list(error.absolute_path)}: {error.message}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
