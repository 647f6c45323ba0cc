#!/usr/bin/env python3
"""Check JSON documents against a JSON Schema (the draft-07 subset that
sandform schema uses), with the Python standard library only.

    schema_check.py SCHEMA [FILE]

FILE (default: standard input) holds a JSON array of documents, as
tests/yaml2json prints them. Each error is printed as "doc N: PATH: what";
exit 0 when every document is valid, 1 when one is not, 2 on a schema
this checker does not understand (a keyword it does not know is never
ignored). When the jsonschema module is installed the verdicts are
compared with its Draft7Validator too, and a disagreement is exit 2.
"""
import json
import re
import sys

ANNOTATIONS = {"$schema", "$id", "title", "description", "default"}
KEYWORDS = ANNOTATIONS | {
    "type", "const", "enum", "properties", "additionalProperties",
    "required", "items", "maxItems", "uniqueItems", "minLength",
    "maxLength", "pattern", "minimum", "maximum", "minProperties",
    "maxProperties", "propertyNames", "not", "oneOf", "anyOf", "allOf",
    "if", "then", "else", "$ref", "definitions",
}


class SchemaError(Exception):
    pass


def is_type(v, t):
    if t == "null":
        return v is None
    if t == "boolean":
        return isinstance(v, bool)
    if t == "integer":
        return (isinstance(v, int) and not isinstance(v, bool)) or (
            isinstance(v, float) and v.is_integer())
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "string":
        return isinstance(v, str)
    if t == "object":
        return isinstance(v, dict)
    if t == "array":
        return isinstance(v, list)
    raise SchemaError("unknown type %r" % t)


def equal(a, b):
    return type(a) is type(b) and a == b or (
        is_type(a, "number") and is_type(b, "number") and a == b)


class Checker:
    def __init__(self, root):
        self.root = root

    def resolve(self, ref):
        if not ref.startswith("#/"):
            raise SchemaError("only local $ref: %r" % ref)
        node = self.root
        for part in ref[2:].split("/"):
            node = node[part]
        return node

    def errors(self, s, v, path):
        """Every error of v against schema s, as (path, message)."""
        if s is True or s == {}:
            return []
        if s is False:
            return [(path, "not allowed")]
        unknown = set(s) - KEYWORDS
        if unknown:
            raise SchemaError("keyword(s) %s" % sorted(unknown))
        if "$ref" in s:
            return self.errors(self.resolve(s["$ref"]), v, path)
        out = []
        out += self.check_basic(s, v, path)
        if isinstance(v, dict):
            out += self.check_object(s, v, path)
        if isinstance(v, list):
            out += self.check_array(s, v, path)
        if isinstance(v, str):
            out += self.check_string(s, v, path)
        if is_type(v, "number"):
            if "minimum" in s and v < s["minimum"]:
                out.append((path, "%r below %r" % (v, s["minimum"])))
            if "maximum" in s and v > s["maximum"]:
                out.append((path, "%r above %r" % (v, s["maximum"])))
        out += self.check_logic(s, v, path)
        return out

    def check_basic(self, s, v, path):
        out = []
        if "type" in s:
            ts = s["type"] if isinstance(s["type"], list) else [s["type"]]
            if not any(is_type(v, t) for t in ts):
                out.append((path, "%r is not of type %s" % (v, ts)))
        if "const" in s and not equal(v, s["const"]):
            out.append((path, "%r is not %r" % (v, s["const"])))
        if "enum" in s and not any(equal(v, e) for e in s["enum"]):
            out.append((path, "%r is not one of %r" % (v, s["enum"])))
        return out

    def check_object(self, s, v, path):
        out = []
        props = s.get("properties", {})
        for k in s.get("required", []):
            if k not in v:
                out.append((path, "missing %r" % k))
        for k, x in v.items():
            sub = "%s.%s" % (path, k) if path else k
            if "propertyNames" in s:
                out += self.errors(s["propertyNames"], k, sub + " (key)")
            if k in props:
                out += self.errors(props[k], x, sub)
            elif "additionalProperties" in s:
                ap = s["additionalProperties"]
                if ap is False:
                    out.append((sub, "unknown key"))
                else:
                    out += self.errors(ap, x, sub)
        if "minProperties" in s and len(v) < s["minProperties"]:
            out.append((path, "fewer than %d keys" % s["minProperties"]))
        if "maxProperties" in s and len(v) > s["maxProperties"]:
            out.append((path, "more than %d keys" % s["maxProperties"]))
        return out

    def check_array(self, s, v, path):
        out = []
        if "items" in s:
            for i, x in enumerate(v):
                out += self.errors(s["items"], x, "%s[%d]" % (path, i))
        if "maxItems" in s and len(v) > s["maxItems"]:
            out.append((path, "more than %d items" % s["maxItems"]))
        if s.get("uniqueItems"):
            seen = [json.dumps(x, sort_keys=True) for x in v]
            if len(set(seen)) != len(seen):
                out.append((path, "duplicate items"))
        return out

    def check_string(self, s, v, path):
        out = []
        if "minLength" in s and len(v) < s["minLength"]:
            out.append((path, "shorter than %d" % s["minLength"]))
        if "maxLength" in s and len(v) > s["maxLength"]:
            out.append((path, "longer than %d" % s["maxLength"]))
        if "pattern" in s and not re.search(s["pattern"], v):
            out.append((path, "%r does not match %r" % (v, s["pattern"])))
        return out

    def check_logic(self, s, v, path):
        out = []
        for sub in s.get("allOf", []):
            out += self.errors(sub, v, path)
        if "anyOf" in s and not any(
                not self.errors(x, v, path) for x in s["anyOf"]):
            out.append((path, "matches none of anyOf"))
        if "oneOf" in s:
            n = sum(1 for x in s["oneOf"] if not self.errors(x, v, path))
            if n != 1:
                out.append((path, "matches %d of oneOf (expected 1)" % n))
        if "not" in s and not self.errors(s["not"], v, path):
            out.append((path, "matches a schema it must not"))
        if "if" in s:
            branch = "then" if not self.errors(s["if"], v, path) else "else"
            if branch in s:
                out += self.errors(s[branch], v, path)
        return out


def crosscheck(schema, docs, verdicts):
    try:
        import jsonschema
    except ImportError:
        return 0
    v = jsonschema.Draft7Validator(schema)
    for i, d in enumerate(docs):
        if v.is_valid(d) != verdicts[i]:
            print("doc %d: jsonschema says %s, this checker %s" %
                  (i, v.is_valid(d), verdicts[i]))
            return 2
    return 0


def main():
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    src = open(sys.argv[2]) if len(sys.argv) > 2 else sys.stdin
    docs = json.load(src)
    c = Checker(schema)
    verdicts = []
    try:
        for i, d in enumerate(docs):
            errs = c.errors(schema, d, "")
            for p, m in errs:
                print("doc %d: %s: %s" % (i, p or "(document)", m))
            verdicts.append(not errs)
    except SchemaError as e:
        print("schema_check: unsupported schema: %s" % e)
        return 2
    rc = crosscheck(schema, docs, verdicts)
    if rc:
        return rc
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
