#!/usr/bin/python3
"""Checks ovx's JSON output read from stdin.

  json_check.py object                 one JSON object
  json_check.py lines                  one JSON object per line (streams), at least one
  json_check.py schema NAME [--lines]  valid against docs/schema/NAME (one object, or
                                       each line), every schema of docs/schema/ known
                                       by its $id for $ref
  json_check.py error [--located]      one line on stdin: {"error": TEXT, "status": N}
                                       (--located: with file, line, column)

Exit 0 when it holds; otherwise 1 with the reason on stderr.
"""
import json
import pathlib
import sys

SCHEMA_DIR = pathlib.Path(__file__).resolve().parents[2] / "docs" / "schema"


def die(msg):
    sys.stderr.write("json_check: " + msg + "\n")
    sys.exit(1)


def parse_object(text):
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        die(f"not JSON ({e}): {text[:400]!r}")
    if not isinstance(doc, dict):
        die(f"not a JSON object: {text[:400]!r}")
    return doc


def parse_lines(text):
    lines = [l for l in text.split("\n") if l != ""]
    if not lines:
        die("no line of output")
    return [parse_object(l) for l in lines]


def validator(name):
    import jsonschema  # python3-jsonschema (Debian)

    store = {}
    for path in SCHEMA_DIR.glob("*.schema.json"):
        s = json.loads(path.read_text())
        store[s["$id"]] = s
    schema = json.loads((SCHEMA_DIR / name).read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    resolver = jsonschema.RefResolver.from_schema(schema, store=store)
    return cls(schema, resolver=resolver)


def main(argv):
    text = sys.stdin.read()
    if not argv:
        die(__doc__)
    what = argv[0]
    if what == "object":
        parse_object(text)
    elif what == "lines":
        parse_lines(text)
    elif what == "schema":
        v = validator(argv[1])
        docs = parse_lines(text) if "--lines" in argv else [parse_object(text)]
        for doc in docs:
            errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
            if errors:
                die("; ".join(f"{'/'.join(map(str, e.path)) or '(top)'}: {e.message}"
                              for e in errors[:5]))
    elif what == "error":
        doc = parse_object(text.strip())
        if not isinstance(doc.get("error"), str) or not doc["error"]:
            die(f"no error message: {doc}")
        if not isinstance(doc.get("status"), int) or doc["status"] not in (1, 2, 3):
            die(f"no status 1-3: {doc}")
        if "--located" in argv:
            if not isinstance(doc.get("file"), str) or not doc["file"]:
                die(f"no file: {doc}")
            for k in ("line", "column"):
                if not isinstance(doc.get(k), int) or doc[k] < 1:
                    die(f"no {k}: {doc}")
    else:
        die(__doc__)


main(sys.argv[1:])
