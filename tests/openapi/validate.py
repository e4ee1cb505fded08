"""Holds armsim's journal to Microsoft's OpenAPI specifications (vendored from azure-rest-api-specs).

For every journaled ARM request whose namespace and api-version have a vendored spec: the path
must match one of the spec's path templates for that method; a request body must validate
against the operation's body parameter schema and send no read-only property; a response with a
success status must be one the operation declares and validate against its schema. Validation is
jsonschema's Draft 4 validator (swagger 2.0 schemas are draft 4) over the spec files as a
`referencing` registry; what swagger adds is handled here: `discriminator` sub-types,
`x-nullable`, extensible enums (`x-ms-enum.modelAsString`, compared case-insensitively as ARM
does), `readOnly` and swagger's formats.

Usage: validate.py SPECS_DIR JOURNAL_JSON [EXCEPTIONS_JSON]. Prints the violations and a JSON
summary line; exits 1 on any violation not listed in EXCEPTIONS_JSON (a list of
{"operation", "kind", "where", "why"}, operation and where as shell patterns; each must still
match a violation, so the list cannot go stale).
"""

import fnmatch
import json
import os
import pathlib
import re
import sys
from collections import Counter, defaultdict

import jsonschema
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPECS = pathlib.Path(sys.argv[1]).resolve()
JOURNAL = json.load(open(sys.argv[2]))
EXCEPTIONS = json.load(open(sys.argv[3])) if len(sys.argv) > 3 else []

# ------------------------------------------------------------------------------------ the specs

DOCS = {}  # file URI -> document
for f in sorted(SPECS.rglob("*.json")):
    if "examples" in f.parts:
        continue
    DOCS[f.as_uri()] = json.load(open(f, encoding="utf-8"))

REGISTRY = Registry().with_resources((uri, Resource(contents=doc, specification=DRAFT4)) for uri, doc in DOCS.items())


def folder_version(uri):
    # .../stable/2025-01-01/x.json or .../preview/2021-05-01-preview/x.json
    parts = uri.split("/")
    return parts[-2]


def absolute(base_uri, ref):
    path, _, frag = ref.partition("#")
    target = base_uri if not path else (pathlib.Path(base_uri.removeprefix("file://")).parent / path).resolve().as_uri()
    return f"{target}#{frag}"


def _pointer(doc, frag):
    cur = doc
    for part in [p for p in frag.split("/") if p]:
        cur = cur.get(part) if isinstance(cur, dict) else None
        if cur is None:
            return None
    return cur


def _param(uri, p):
    """A parameter object, following a `$ref` to a shared parameter."""
    if isinstance(p, dict) and "$ref" in p:
        path, _, frag = absolute(uri, p["$ref"]).partition("#")
        return _pointer(DOCS.get(path, {}), frag) or {}
    return p if isinstance(p, dict) else {}


# Discriminated sub-types: base definition URI -> {discriminator value: sub-type URI}.
SUBTYPES = defaultdict(dict)
for uri, doc in DOCS.items():
    for name, d in (doc.get("definitions") or {}).items():
        value = d.get("x-ms-discriminator-value", name)
        for part in d.get("allOf", []):
            if "$ref" in part:
                SUBTYPES[absolute(uri, part["$ref"])][value] = f"{uri}#/definitions/{name}"


def discriminator_targets():
    """Base definitions that declare a discriminator (sub-types are dispatched on)."""
    out = {}
    for uri, doc in DOCS.items():
        for name, d in (doc.get("definitions") or {}).items():
            if "discriminator" in d:
                out[f"{uri}#/definitions/{name}"] = d["discriminator"]
    return out


BASES = discriminator_targets()

# Operations: (api-version, method) -> [(regex, template, operation, file uri)].
OPERATIONS = defaultdict(list)
NAMESPACE_VERSIONS = set()  # (namespace lower, api-version) with a vendored spec
for uri, doc in DOCS.items():
    version = folder_version(uri)
    for template, item in (doc.get("paths") or {}).items():
        for method, op in item.items():
            if method not in ("get", "put", "patch", "post", "delete", "head"):
                continue
            params = {q.get("name"): q for q in (_param(uri, p) for p in op.get("parameters", []) + item.get("parameters", []))}
            rx = ""
            for piece in re.split(r"(\{[^}]+\})", template):
                if piece.startswith("{"):
                    p = params.get(piece[1:-1], {})
                    rx += ".+" if p.get("x-ms-skip-url-encoding") else "[^/]+"
                else:
                    rx += re.escape(piece)
            OPERATIONS[(version, method.upper())].append((re.compile(f"^{rx}$", re.I), template, op, uri))
            for m in re.finditer(r"/providers/([A-Za-z.]+)/", template):
                NAMESPACE_VERSIONS.add((m.group(1).lower(), version))
            if template.lower().startswith("/subscriptions/{subscriptionid}/resourcegroups") and "/providers/" not in template:
                NAMESPACE_VERSIONS.add(("microsoft.resources", version))


def namespace_of(path):
    m = list(re.finditer(r"/providers/([A-Za-z.]+)/", path + "/"))
    if m:
        return m[-1].group(1).lower()
    return "microsoft.resources"


# ------------------------------------------------------------------------------------ validation

FORMATS = jsonschema.FormatChecker()
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$")
DURATION = re.compile(r"^-?P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


@FORMATS.checks("uuid")
def _uuid(v):
    return not isinstance(v, str) or bool(UUID.match(v))


@FORMATS.checks("date-time")
def _dt(v):
    return not isinstance(v, str) or bool(DATETIME.match(v))


@FORMATS.checks("duration")
def _duration(v):
    return not isinstance(v, str) or bool(DURATION.match(v))


@FORMATS.checks("int32")
def _int32(v):
    return not isinstance(v, int) or -(2**31) <= v < 2**31


@FORMATS.checks("arm-id")
def _arm_id(v):
    return not isinstance(v, str) or v.startswith("/")


_dispatching = set()


def _discriminator(validator, prop, instance, schema):
    """Validates a discriminated object against the sub-type its discriminator value names."""
    if not isinstance(instance, dict) or prop not in instance:
        return
    base = _base_of(schema)
    sub = SUBTYPES.get(base, {}).get(instance[prop]) if base else None
    # The sub-type's allOf leads back here: dispatch once per object.
    if sub is None or (id(instance), sub) in _dispatching:
        return
    _dispatching.add((id(instance), sub))
    try:
        yield from validator.descend(instance, {"$ref": sub})
    finally:
        _dispatching.discard((id(instance), sub))


def _base_of(schema):
    """The URI of the base definition `schema` is (the registry hands out the documents' own objects)."""
    for uri in BASES:
        path, _, frag = uri.partition("#")
        if _pointer(DOCS[path], frag) is schema:
            return uri
    return None


def _enum(validator, values, instance, schema):
    extensible = (schema.get("x-ms-enum") or {}).get("modelAsString", False)
    if instance is None and schema.get("x-nullable"):
        return
    if instance in values:
        return
    if extensible and isinstance(instance, str) and instance.lower() in [str(v).lower() for v in values]:
        return
    yield jsonschema.ValidationError(f"{instance!r} is not one of {values}" + (" (extensible enum)" if extensible else ""))


def _type(validator, types, instance, schema):
    if instance is None and schema.get("x-nullable"):
        return
    yield from jsonschema._keywords.type(validator, types, instance, schema)


Validator = jsonschema.validators.extend(Draft4Validator, {"discriminator": _discriminator, "enum": _enum, "type": _type})


def schema_errors(uri, schema, instance):
    root = {"$ref": absolute(uri, schema["$ref"])} if "$ref" in schema else {"id": uri, "allOf": [schema]}
    v = Validator(root, registry=REGISTRY, format_checker=FORMATS)
    return sorted(v.iter_errors(instance), key=lambda e: list(e.absolute_path))


def read_only_sent(uri, schema, instance, path=""):
    """Paths of read-only properties present in a request body."""
    schema, uri = _deref(uri, schema)
    if schema is None:
        return []
    chain = _allof_chain(uri, schema)
    disc = schema.get("discriminator")
    if disc and isinstance(instance, dict):
        sub = SUBTYPES.get(_base_of(schema) or "", {}).get(instance.get(disc))
        if sub:
            su, _, frag = sub.partition("#")
            chain = _allof_chain(su, _pointer(DOCS[su], frag)) + chain
    props, additional = {}, None
    for u, s in chain:
        for name, ps in (s.get("properties") or {}).items():
            props.setdefault(name, (u, ps))
        if additional is None and isinstance(s.get("additionalProperties"), dict):
            additional = (u, s["additionalProperties"])
    out = []
    if isinstance(instance, dict):
        for k, v in instance.items():
            if k in props:
                u, ps = props[k]
                target, _ = _deref(u, ps)
                if v is not None and (ps.get("readOnly") or (target or {}).get("readOnly")):
                    out.append(f"{path}.{k}".lstrip("."))
                else:
                    out += read_only_sent(u, ps, v, f"{path}.{k}")
            elif additional is not None:
                out += read_only_sent(additional[0], additional[1], v, f"{path}.{k}")
    elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for i, v in enumerate(instance):
            out += read_only_sent(uri, schema["items"], v, f"{path}[{i}]")
    return out


def _deref(uri, schema):
    hops = 0
    while isinstance(schema, dict) and "$ref" in schema and hops < 50:
        target = absolute(uri, schema["$ref"])
        path, _, frag = target.partition("#")
        if path not in DOCS:
            return None, uri
        uri, schema = path, _pointer(DOCS[path], frag)
        hops += 1
    return schema, uri


def _allof_chain(uri, schema):
    """Every (uri, schema) reachable through allOf, the schema itself first."""
    out, todo, seen = [], [(uri, schema)], set()
    while todo:
        u, s = todo.pop()
        s, u = _deref(u, s)
        if s is None or id(s) in seen:
            continue
        seen.add(id(s))
        out.append((u, s))
        todo += [(u, p) for p in s.get("allOf", [])]
    return out


# ---------------------------------------------------------------------------------------- run

violations = []
counts = Counter()
skipped = Counter()
by_spec = Counter({f"{ns} {v}": 0 for ns, v in NAMESPACE_VERSIONS})  # validated requests per vendored spec


def violation(op, kind, where, detail):
    violations.append({"operation": op, "kind": kind, "where": where, "detail": detail})


for e in JOURNAL:
    path, method, query = e["path"], e["method"].upper(), e.get("query") or ""
    if path.startswith("/_sim") or "/oauth2/" in path or path.startswith("/metadata") or "/.well-known/" in path:
        continue
    m = re.search(r"(?:^|&)api-version=([^&]+)", query)
    if not m:
        skipped["no api-version"] += 1
        continue
    version = m.group(1)
    ns = namespace_of(path)
    low = path.lower()
    if "/operations/" in low or "/operationresults/" in low or "/operationstatuses/" in low or "/asyncoperations/" in low or "/azureasyncoperation" in low:
        skipped["operation status poll"] += 1
        continue
    if (ns, version) not in NAMESPACE_VERSIONS:
        skipped[f"no vendored spec for {ns} {version}"] += 1
        continue
    matches = [o for o in OPERATIONS[(version, method)] if o[0].match(path)]
    if not matches:
        violation(f"{method} {path}", "path", "", f"no {method} path template at api-version {version} matches")
        continue
    # The most specific template (most literal text) wins: `/{resourceId}` matches almost anything.
    rx, template, op, uri = max(matches, key=lambda o: len(re.sub(r"\{[^}]+\}", "", o[1])))
    name = f"{op.get('operationId', template)} ({version})"
    counts["requests"] += 1
    by_spec[f"{ns} {version}"] += 1
    params = [p for p in op.get("parameters", []) if isinstance(p, dict)]
    body_params = []
    for p in params:
        if "$ref" in p:
            p, _ = _deref(uri, p)
        if p and p.get("in") == "body":
            body_params.append(p)
    req = e.get("request_body")
    if body_params and req is not None:
        counts["request bodies"] += 1
        schema = body_params[0]["schema"]
        for err in schema_errors(uri, schema, req):
            violation(name, "request", "/".join(map(str, err.absolute_path)), err.message[:300])
        for ro in read_only_sent(uri, schema, req):
            violation(name, "read-only sent", ro, "the request sets a read-only property")
    status = str(e["status"])
    if e["status"] >= 400 or e.get("bodies_dropped"):
        continue
    responses = op.get("responses", {})
    if status not in responses:
        violation(name, "status", status, f"armsim answered {status}; the spec declares {sorted(responses)}")
        continue
    counts["responses"] += 1
    rs = responses[status].get("schema")
    rsp = e.get("response_body")
    if rs is not None and rsp is not None:
        counts["response bodies"] += 1
        for err in schema_errors(uri, rs, rsp):
            violation(name, "response", "/".join(map(str, err.absolute_path)), err.message[:300])

# ------------------------------------------------------------------------------------ report

def key(v):
    return (v["operation"], v["kind"], v["where"])


def excused(v, x):
    # operation and where may be shell patterns (`RoleAssignments_*`), kind is exact
    return (
        v["kind"] == x["kind"]
        and fnmatch.fnmatchcase(v["operation"], x["operation"])
        and fnmatch.fnmatchcase(v["where"], x["where"])
        and fnmatch.fnmatchcase(v["detail"], x.get("detail", "*"))
    )


unexpected = [v for v in violations if not any(excused(v, x) for x in EXCEPTIONS)]
stale = [x for x in EXCEPTIONS if not any(excused(v, x) for v in violations)]
for v in sorted({key(v): v for v in violations}.values(), key=key):
    tag = "allowed" if any(excused(v, x) for x in EXCEPTIONS) else "VIOLATION"
    print(f"{tag} {v['kind']} {v['operation']} {v['where']}: {v['detail']}")
for x in stale:
    print(f"STALE exception (no longer occurs): {x}")
print(
    json.dumps(
        {
            "requests": counts["requests"],
            "request_bodies": counts["request bodies"],
            "responses": counts["responses"],
            "response_bodies": counts["response bodies"],
            "violations": len(unexpected),
            "allowed": len(violations) - len(unexpected),
            "stale_exceptions": len(stale),
            "by_spec": dict(sorted(by_spec.items())),
            "skipped": dict(sorted(skipped.items())),
            "spec_files": len(DOCS),
        }
    )
)
sys.exit(1 if unexpected or stale else 0)
