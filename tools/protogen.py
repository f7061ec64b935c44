#!/usr/bin/env python3
"""Generates Sluice's Kafka protocol codecs from Kafka's JSON message schemas.

usage: protogen.py <messages-dir> <out-dir> [<test-dir>] [--metadata <metadata-dir>]
                   [--overlay <overlay-dir>]

Writes <out-dir>/messages_gen.{h,c} (one C struct per schema struct, with
init/decode/encode functions over proto/wire.h), <out-dir>/api.{h,c} (API
keys and the schemas' version ranges), and <test-dir>/codec_samples_gen.inc
(sample-filling code for tests/unit/test_codec.c). With --metadata, also
<out-dir>/metadata_gen.{h,c}: the same codecs for every KRaft metadata log
record in <metadata-dir> (keyed by apiKey, with a table of keys and version
ranges) and for the KRaft control records of <messages-dir> (KRAFT_CONTROL),
and <test-dir>/metadata_samples_gen.inc for tests/unit/test_meta_codec.c.
Before a message schema is read, Sluice's overlay for it, if any, is applied
(<overlay-dir>, default proto/schemas-overlay/; see "Sluice's schema
overlays" below and docs/architecture.md): a later Kafka's version of a
schema, for RPCs both ends of which are Sluice. Output is a pure function of
the schemas and overlays, so running it twice gives identical files.

Wire rules it implements (Kafka protocol guide, KIP-482 for flexible
versions): classic strings/bytes/arrays carry int16/int32/int32 lengths,
compact ones uvarint(length+1) with 0 meaning null; every struct of a flexible
version ends with a tagged-field section, uvarint count then (uvarint tag,
uvarint size, value) in ascending tag order; a tagged field is written only
when it differs from its default.
"""
import json
import os
import re
import sys

# The APIs the broker speaks (request and response of each).
APIS = [
    "Produce", "Fetch", "ListOffsets", "Metadata", "OffsetCommit", "OffsetFetch",
    "FindCoordinator", "JoinGroup", "Heartbeat", "LeaveGroup", "SyncGroup",
    "DescribeGroups", "ListGroups", "SaslHandshake", "ApiVersions", "CreateTopics",
    "DeleteTopics", "DeleteRecords", "InitProducerId", "OffsetForLeaderEpoch",
    "DescribeConfigs", "AlterConfigs", "IncrementalAlterConfigs", "CreatePartitions",
    "DeleteGroups", "SaslAuthenticate", "DescribeCluster", "DescribeProducers",
    "OffsetDelete", "ElectLeaders", "AlterPartition", "Vote", "BeginQuorumEpoch",
    "EndQuorumEpoch", "DescribeQuorum", "FetchSnapshot", "BrokerRegistration",
    "BrokerHeartbeat", "UnregisterBroker", "AddRaftVoter", "RemoveRaftVoter",
    "UpdateRaftVoter", "AllocateProducerIds", "AlterPartitionReassignments",
    "ListPartitionReassignments",
]
HEADERS = ["RequestHeader", "ResponseHeader"]
# The KRaft control records (values of control batches in the metadata log
# and in snapshots); their schemas live among the messages, without apiKey.
KRAFT_CONTROL = ["LeaderChangeMessage", "SnapshotHeaderRecord", "SnapshotFooterRecord",
                 "KRaftVersionRecord", "VotersRecord"]

REPO_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OVERLAY_DIR = os.path.join(REPO_ROOT, "proto", "schemas-overlay")

NEVER = 32767  # "no flexible version" in struct api_info
ALL_VERSIONS = frozenset(range(0, 128))

# C type and fixed wire size of each primitive (None: length-prefixed).
PRIMITIVES = {
    "bool": ("bool", 1, "bool"), "int8": ("int8_t", 1, "i8"), "int16": ("int16_t", 2, "i16"),
    "uint16": ("uint16_t", 2, "u16"), "int32": ("int32_t", 4, "i32"),
    "int64": ("int64_t", 8, "i64"), "float64": ("double", 8, "f64"),
    "uuid": ("struct kuuid", 16, "uuid"), "string": ("struct kstr", None, None),
    "bytes": ("struct kbytes", None, None), "records": ("struct krecords", None, None),
}
# Fixed-width types that wire.h puts at a cursor (put_i32...).
FIXED_PUT = {"bool", "int8", "int16", "uint16", "int32", "int64"}
C_KEYWORDS = set("""auto break case char const continue default do double else enum extern
float for goto if inline int long register restrict return short signed sizeof static struct
switch typedef union unsigned void volatile while bool true false""".split())


def snake(name):
    name = name.replace("KRaft", "Kraft")
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)  # ISRNodes -> ISR_Nodes
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)  # TopicID -> Topic_ID
    return name.lower()


def member_name(name):
    s = snake(name)
    return s + "_" if s in C_KEYWORDS else s


def load_schema(path):
    # The schemas are JSON with whole-line // comments.
    with open(path, encoding="utf-8") as f:
        return json.loads("".join(l for l in f if not l.lstrip().startswith("//")))


# ---- Sluice's schema overlays ----
#
# An overlay (proto/schemas-overlay/<Name>.json, JSON with // comments like
# the schemas) changes one of Kafka 3.9's schemas to a later Kafka's version
# of it, by facts carried over, not by a copied file:
#   "name"              the schema it applies to
#   "baseValidVersions" the validVersions the shared schema must have (so an
#                       overlay that the shared schemas have caught up with,
#                       or moved past, stops the generator instead of
#                       silently applying twice)
#   "validVersions"     the new range
#   "renameFields"      [{"path": "Topics.Partitions", "from": ..., "to": ...,
#                        "about": ... (optional)}]: same type and versions,
#                       so the wire does not change, only the C member name
#   "addFields"         [{"path": ..., "after": <field name>, "field": {...}}]
# "path" names the nested array fields from the top ("" is the top level).


class OverlayError(Exception):
    pass


def overlay_fields(schema, path, where):
    fields = schema["fields"]
    for name in [p for p in path.split(".") if p]:
        hit = [f for f in fields if f["name"] == name and "fields" in f]
        if len(hit) != 1:
            raise OverlayError("%s: no struct field %s on path %r" % (where, name, path))
        fields = hit[0]["fields"]
    return fields


def field_index(fields, name, where):
    idx = [i for i, f in enumerate(fields) if f["name"] == name]
    if len(idx) != 1:
        raise OverlayError("%s: no field %s" % (where, name))
    return idx[0]


def apply_overlay(schema, overlay, where):
    """The schema with the overlay applied (the schema dict is changed)."""
    known = {"name", "baseValidVersions", "validVersions", "renameFields", "addFields"}
    if set(overlay) - known:
        raise OverlayError("%s: unknown keys %s" % (where, sorted(set(overlay) - known)))
    if overlay.get("name") != schema["name"]:
        raise OverlayError("%s: names %s, the schema is %s" % (
            where, overlay.get("name"), schema["name"]))
    if str(schema["validVersions"]) != str(overlay["baseValidVersions"]):
        raise OverlayError("%s: written for validVersions %s, the shared schema has %s "
                           "(update or drop the overlay)" % (
                               where, overlay["baseValidVersions"], schema["validVersions"]))
    schema["validVersions"] = overlay["validVersions"]
    for r in overlay.get("renameFields", []):
        fields = overlay_fields(schema, r["path"], where)
        f = fields[field_index(fields, r["from"], where)]
        if any(g["name"] == r["to"] for g in fields):
            raise OverlayError("%s: %s already has a field %s" % (where, r["path"], r["to"]))
        f["name"] = r["to"]
        if "about" in r:
            f["about"] = r["about"]
    for a in overlay.get("addFields", []):
        fields = overlay_fields(schema, a["path"], where)
        new = a["field"]
        if any(g["name"] == new["name"] for g in fields):
            raise OverlayError("%s: %s already has a field %s" % (where, a["path"], new["name"]))
        fields.insert(field_index(fields, a["after"], where) + 1, dict(new))
    return schema


class Overlays:
    """The overlays of a directory; each must be applied exactly once."""

    def __init__(self, directory):
        self.dir = directory
        self.pending = {}
        if directory is not None and os.path.isdir(directory):
            for name in sorted(os.listdir(directory)):
                if name.endswith(".json"):
                    self.pending[name[:-5]] = os.path.join(directory, name)
        self.applied = []

    def load(self, path):
        schema = load_schema(path)
        name = os.path.basename(path)[:-5]
        if name in self.pending:
            where = self.pending.pop(name)
            schema = apply_overlay(schema, load_schema(where), where)
            self.applied.append(schema["name"])
            schema["_overlay"] = os.path.relpath(where, REPO_ROOT)
        return schema

    def check_all_applied(self):
        if self.pending:
            raise OverlayError("overlays for schemas the generator does not read: %s" % (
                ", ".join(sorted(self.pending.values()))))


def parse_versions(spec, within):
    spec = str(spec).strip()
    if spec == "none":
        return frozenset()
    if spec.endswith("+"):
        lo, hi = int(spec[:-1]), 1 << 15
    elif "-" in spec:
        lo, hi = (int(x) for x in spec.split("-"))
    else:
        lo = hi = int(spec)
    return frozenset(v for v in within if lo <= v <= hi)


def cond(present, universe):
    """A C condition on `version` that holds on `present` within `universe`;
    None when it always holds, "false" when never."""
    present = present & universe
    if present == universe:
        return None
    if not present:
        return "false"
    lo, hi = min(present), max(present)
    assert present == {v for v in universe if lo <= v <= hi}, "version set is not a range"
    parts = []
    if lo > min(universe):
        parts.append("version >= %d" % lo)
    if hi < max(universe):
        parts.append("version <= %d" % hi)
    return " && ".join(parts)


def bool_expr(present, universe):
    c = cond(present, universe)
    return "true" if c is None else c


def by_version(values):
    """A C expression for a {version: int} map, as a chain of thresholds."""
    vs = sorted(values)
    groups = []  # (first version, value), ascending
    for v in vs:
        if not groups or groups[-1][1] != values[v]:
            groups.append((v, values[v]))
    expr = str(groups[0][1])
    for first, val in groups[1:]:
        expr = "version >= %d ? %d : %s" % (first, val, expr)
    return expr if len(groups) == 1 else "(" + expr + ")"


class Field:
    def __init__(self, msg, js):
        self.js = js
        self.name = js["name"]
        self.c = member_name(self.name)
        t = js["type"]
        self.array = t.startswith("[]")
        self.base = t[2:] if self.array else t
        self.struct = None
        self.versions = parse_versions(js["versions"], msg.valid)
        self.nullable = parse_versions(js.get("nullableVersions", "none"), msg.valid)
        self.tag = None if js.get("tag") is None else int(js["tag"])
        if self.tag is not None:
            tagged = parse_versions(js["taggedVersions"], msg.valid)
            assert tagged == self.versions, "%s: tagged in only some versions" % self.name
        # Only RequestHeader.ClientId overrides this (it stays a classic string).
        self.flexible = msg.flexible
        if "flexibleVersions" in js:
            self.flexible = parse_versions(js["flexibleVersions"], msg.valid)
        self.default = js.get("default")
        if self.default is not None:
            self.default = str(self.default)
        if self.base not in PRIMITIVES:
            assert not self.nullable or self.array, "%s: nullable struct" % self.name


class Struct:
    def __init__(self, c):
        self.c = c
        self.fields = []
        self.reach = frozenset()  # versions in which this struct is on the wire
        self.needs_is_default = False


class Message:
    def __init__(self, schema):
        self.name = schema["name"]
        self.api_key = schema.get("apiKey")
        self.overlay = schema.get("_overlay")  # the overlay applied, if any
        self.valid = parse_versions(schema["validVersions"], ALL_VERSIONS)
        self.flexible = parse_versions(schema["flexibleVersions"], self.valid)
        self.structs = {}
        self.order = []  # children before parents, for C declaration order
        self.common = {c["name"]: c for c in schema.get("commonStructs", [])}
        self.top = self.make_struct(self.name, schema["fields"], top=True)
        self.visit(self.top, self.valid)

    def make_struct(self, name, fields_js, top=False):
        c = snake(self.name) if top else snake(self.name) + "_" + snake(name)
        s = Struct(c)
        self.structs[name] = s
        for js in fields_js:
            f = Field(self, js)
            if f.base not in PRIMITIVES:
                f.struct = self.resolve(f.base, js.get("fields"))
            s.fields.append(f)
        members = [f.c for f in s.fields] + [f.c + "_count" for f in s.fields if f.array]
        assert len(members) == len(set(members)), "%s: member names collide" % name
        self.order.append(s)
        return s

    def resolve(self, name, fields_js):
        if fields_js is not None:
            assert name not in self.structs, "%s.%s defined twice" % (self.name, name)
            return self.make_struct(name, fields_js)
        if name not in self.structs:
            self.make_struct(name, self.common[name]["fields"])
        return self.structs[name]

    def visit(self, s, versions):
        s.reach = s.reach | versions
        for f in s.fields:
            if f.struct:
                self.visit(f.struct, f.versions & versions)
                if f.tag is not None and not f.array:
                    self.mark_is_default(f.struct)

    def mark_is_default(self, s):
        s.needs_is_default = True
        for f in s.fields:
            if f.struct and not f.array:
                self.mark_is_default(f.struct)


# ---- C fragments ----


def c_int(value, ctype):
    bits = {"int8_t": 8, "int16_t": 16, "int32_t": 32, "int64_t": 64}.get(ctype)
    if bits and value == -(1 << (bits - 1)):
        return "INT%d_MIN" % bits
    if bits == 64 and abs(value) > 0x7FFFFFFF:
        return "INT64_C(%d)" % value
    return str(value)


def c_default(f):
    """The C value of a field's schema default, or None when it is zero."""
    d = f.default
    if f.array:
        return "-1" if d == "null" else None
    if f.struct:
        return None
    if f.base == "string":
        if d == "null":
            return "KSTR_NULL"
        return "KSTR_LIT(%s)" % json.dumps(d) if d else None
    if f.base == "bytes":
        return "(struct kbytes){NULL, -1}" if d == "null" else None
    if f.base == "records":
        return None  # handled in init: Kafka's records default is null
    if d is None or d == "":
        return None
    if f.base == "bool":
        return "true" if d.lower() == "true" else None
    if f.base == "float64":
        return repr(float(d)) if float(d) != 0 else None
    if f.base == "uuid":
        assert d in ("", "AAAAAAAAAAAAAAAAAAAAAA"), "uuid default"
        return None
    v = int(d, 0)
    return c_int(v, PRIMITIVES[f.base][0]) if v else None


def differs(f, m):
    """C expression: field differs from its default (Kafka's rule for
    whether a tagged field is written)."""
    x = "%s%s" % (m, f.c)
    d = f.default
    if f.array:
        return "%s_count %s 0" % (x, ">=" if d == "null" else ">")
    if f.struct:
        return "!%s_is_default(&%s)" % (f.struct.c, x)
    if f.base in ("string", "bytes", "records"):
        if f.base == "records" or d == "null":
            return "%s.len >= 0" % x
        if d:
            return "!kstr_eq(%s, %s)" % (x, json.dumps(d))
        return "%s.len > 0" % x
    if f.base == "uuid":
        return "!uuid_is_zero(%s)" % x
    if f.base == "bool":
        return "!" + x if c_default(f) == "true" else x
    return "%s != %s" % (x, c_default(f) or "0")


def flex_expr(f, present, has_flex_var):
    e = bool_expr(f.flexible & present, present)
    if e not in ("true", "false") and has_flex_var and "flexibleVersions" not in f.js:
        return "flex"
    return e


def value_min_bytes(f, v, msg_flexible):
    """Fewest wire bytes one value (one element, for an array) of field f
    takes in version v: array counts are checked against what is left of the
    input before anything is allocated."""
    if f.struct:
        return struct_min_bytes(f.struct, v, msg_flexible)
    size = PRIMITIVES[f.base][1]
    if size is not None:
        return size
    if v in f.flexible:
        return 1
    return 2 if f.base == "string" else 4


def struct_min_bytes(s, v, msg_flexible):
    total = 1 if v in msg_flexible else 0  # the tagged-field count
    for f in s.fields:
        if f.tag is not None or v not in f.versions:
            continue
        if f.array:
            total += 1 if v in f.flexible else 4
        else:
            total += value_min_bytes(f, v, msg_flexible)
    return total


def block(c, stmts):
    if c is None:
        return stmts
    if len(stmts) == 1 and not stmts[0].startswith(("for", "if")) and len(stmts[0]) < 70:
        return ["if (%s) %s" % (c, stmts[0])]
    return ["if (%s) {" % c] + ["  " + s for s in stmts] + ["}"]


def indent(lines, n=1):
    return ["  " * n + l if l else l for l in lines]


class Gen:
    def __init__(self, msg):
        self.msg = msg

    # rd, fl, nl: C expressions for the reader, "compact?" and "nullable?".
    def decode_value(self, f, rd, fl, nl, target):
        if f.struct:
            return "%s_decode(%s, version, &%s, a);" % (f.struct.c, rd, target)
        if f.base in ("string", "bytes", "records"):
            return "%s = read_%s(%s, %s, %s);" % (target, f.base, rd, fl, nl)
        return "%s = rd_%s(%s);" % (target, PRIMITIVES[f.base][2], rd)

    def decode_field(self, f, rd, fl, nl, present):
        x = "m->" + f.c
        if not f.array:
            return [self.decode_value(f, rd, fl, nl, x)]
        mins = {v: value_min_bytes(f, v, self.msg.flexible) for v in present}
        return ["%s_count = read_count(%s, %s, %s, %s);" % (x, rd, fl, nl, by_version(mins)),
                "%s = alloc_array(a, %s_count, sizeof *%s);" % (x, x, x),
                "for (int32_t i = 0; i < %s_count; i++) %s"
                % (x, self.decode_value(f, rd, fl, "false", x + "[i]"))]

    def encode_value(self, f, fl, nl, target):
        if f.struct:
            return "%s_encode(w, version, &%s);" % (f.struct.c, target)
        if f.base == "records":
            return "write_records(w, &%s, %s, %s);" % (target, fl, nl)
        if f.base in ("string", "bytes"):
            return "write_%s(w, %s, %s, %s);" % (f.base, target, fl, nl)
        return "wr_%s(w, %s);" % (PRIMITIVES[f.base][2], target)

    def encode_field(self, f, fl, nl):
        x = "m->" + f.c
        if not f.array:
            return [self.encode_value(f, fl, nl, x)]
        return ["for (int32_t i = 0, n = write_count(w, %s, %s_count, %s, %s); i < n; i++)"
                % (x, x, fl, nl), "  " + self.encode_value(f, fl, "false", x + "[i]")]

    def fields_of(self, s, tagged):
        for f in s.fields:
            present = f.versions & s.reach
            if present and (f.tag is not None) == tagged:
                yield f, present

    def flex_setup(self, s):
        fx = bool_expr(self.msg.flexible, s.reach)
        if fx in ("true", "false"):
            return fx, []
        return "flex", ["const bool flex = %s;" % fx]

    def init(self, s):
        lines = ["struct_zero(m, sizeof *m);"]
        for f in s.fields:
            d = c_default(f)
            if f.array and d:
                lines.append("m->%s_count = %s;" % (f.c, d))
            elif f.struct and not f.array:
                lines.append("%s_init(&m->%s);" % (f.struct.c, f.c))
            elif f.base == "records" and not f.array:
                lines.append("m->%s.len = -1;" % f.c)  # Kafka's records default: null
            elif d:
                lines.append("m->%s = %s;" % (f.c, d))
        return ["void %s_init(struct %s *m) {" % (s.c, s.c)] + indent(lines) + ["}", ""]

    def is_default(self, s):
        terms = [differs(f, "m->") for f in s.fields] or ["false"]
        body = "return !(" + " ||\n         ".join(terms) + ");"
        return (["static bool %s_is_default(const struct %s *m) {" % (s.c, s.c)]
                + indent(body.split("\n")) + ["}", ""])

    def decode(self, s, top):
        msg = self.msg
        fx, lines = self.flex_setup(s)
        run = []  # consecutive fixed-width fields, taken after one rd_fixed
        for f, present in self.fields_of(s, tagged=False):
            if not f.array and not f.struct and f.base in FIXED_PUT:
                run.append((f, present, cond(present, s.reach)))
                continue
            lines += self.decode_run(run)
            run = []
            fl = flex_expr(f, present, fx == "flex")
            nl = bool_expr(f.nullable & present, present)
            lines += block(cond(present, s.reach), self.decode_field(f, "r", fl, nl, present))
        lines += self.decode_run(run)
        if fx != "false":
            tagged = list(self.fields_of(s, tagged=True))
            if not tagged:
                tag_lines = ["rd_skip_tagged_fields(r);"]
            else:
                tag_lines = ["for (uint32_t t = 0, tags = rd_uvarint(r); t < tags; t++) {",
                             "  uint32_t tag;", "  struct rd v;",
                             "  if (!read_tag(r, &tag, &v)) break;"]
                for f, present in sorted(tagged, key=lambda fp: fp[0].tag):
                    nl = bool_expr(f.nullable & present, present)
                    c = " && ".join(x for x in ("tag == %d" % f.tag, cond(present, s.reach)) if x)
                    tag_lines += indent(block(c, self.decode_field(f, "&v", "true", nl, present)))
                tag_lines += ["  if (v.err) rd_fail(r);", "}"]
            lines += block(None if fx == "true" else fx, tag_lines)
        sig = "(struct rd *r, int16_t version, struct %s *m, struct arena *a) {" % s.c
        pre = ["%s_init(m);" % s.c]
        if top:
            pre += ["if (version < %d || version > %d) {" % (min(msg.valid), max(msg.valid)),
                    "  rd_fail(r);", "  return false;", "}"]
            head, lines = "bool %s_decode" % s.c, pre + lines + ["return !r->err;"]
        else:
            head, lines = "static void %s_decode" % s.c, pre + lines
        return [head + sig] + indent(self.unused(lines, ["version", "a"])) + ["}", ""]

    def encode(self, s, top):
        msg = self.msg
        fx, lines = self.flex_setup(s)
        if top:
            lines.insert(0, "ASSERT(version >= %d && version <= %d);"
                         % (min(msg.valid), max(msg.valid)))
        run = []  # consecutive fixed-width fields, put after one wr_fixed
        for f, present in self.fields_of(s, tagged=False):
            if not f.array and not f.struct and f.base in FIXED_PUT:
                run.append((f, cond(present, s.reach)))
                continue
            lines += self.encode_run(run)
            run = []
            fl = flex_expr(f, present, fx == "flex")
            nl = bool_expr(f.nullable & present, present)
            lines += block(cond(present, s.reach), self.encode_field(f, fl, nl))
        lines += self.encode_run(run)
        if fx != "false":
            tagged = sorted(self.fields_of(s, tagged=True), key=lambda fp: fp[0].tag)
            tag_lines = []
            for f, present in tagged:
                c = cond(present, s.reach)
                tag_lines.append("const bool has_%s = %s;" % (
                    f.c, " && ".join(x for x in (c, differs(f, "m->")) if x)))
            count = " + ".join("(uint32_t)has_%s" % f.c for f, _ in tagged) or "0"
            tag_lines.append("wr_uvarint(w, %s);" % count)
            for f, present in tagged:
                nl = bool_expr(f.nullable & present, present)
                tag_lines += ["if (has_%s) {" % f.c,
                              "  size_t at = tag_begin(w, %d);" % f.tag]
                tag_lines += indent(self.encode_field(f, "true", nl))
                tag_lines += ["  tag_end(w, at);", "}"]
            lines += block(None if fx == "true" else fx, tag_lines)
        sig = "(struct wr *w, int16_t version, const struct %s *m) {" % s.c
        head = ("void %s_encode" if top else "static void %s_encode") % s.c
        return [head + sig] + indent(self.unused(lines, ["version", "m"])) + ["}", ""]

    def decode_run(self, run):
        """Fixed-width fields (field, versions, condition) in a row: when the
        input holds all of them, one bounds check and each taken where the
        last one ended; else field by field, failing where rd_ would."""
        one_by_one = [l for f, present, c in run
                      for l in block(c, self.decode_field(f, "r", None, None, present))]
        if len(run) < 2:
            return one_by_one
        size = " + ".join("%d" % PRIMITIVES[f.base][1] if c is None
                          else "(%s ? %d : 0)" % (c, PRIMITIVES[f.base][1]) for f, _, c in run)
        lines = ["const uint8_t *p = rd_fixed(r, %s);" % size, "if (p) {"]
        for f, _, c in run:
            lines += indent(block(c, ["m->%s = take_%s(&p);" % (f.c, PRIMITIVES[f.base][2])]))
        lines += ["} else {"] + indent(one_by_one) + ["}"]
        return ["{"] + indent(lines) + ["}"]

    def encode_run(self, run):
        """Fixed-width fields (field, version condition) in a row: room for
        all of them at once, then each put where the last one ended."""
        if len(run) < 2:
            return [l for f, c in run for l in block(c, self.encode_field(f, None, None))]
        size = " + ".join("%d" % PRIMITIVES[f.base][1] if c is None
                          else "(%s ? %d : 0)" % (c, PRIMITIVES[f.base][1]) for f, c in run)
        lines = ["uint8_t *p = wr_fixed(w, %s);" % size]
        for f, c in run:
            lines += block(c, ["p = put_%s(p, m->%s);" % (PRIMITIVES[f.base][2], f.c)])
        return ["{"] + indent(lines + ["(void)p;"]) + ["}"]

    @staticmethod
    def unused(lines, params):
        text = "\n".join(lines)
        # A use of the parameter, not a member of the same name (m->version).
        return ["(void)%s;" % p for p in params
                if not re.search(r"(?<![>.\w])%s\b" % p, text)] + lines

    def source(self):
        out = []
        for s in self.msg.order:
            top = s is self.msg.top
            out += self.init(s)
            if s.needs_is_default:
                out += self.is_default(s)
            out += self.decode(s, top) + self.encode(s, top)
        return out

    def declarations(self):
        out = []
        for s in self.msg.order:
            out.append("struct %s {" % s.c)
            for f in s.fields:
                ctype = "struct " + f.struct.c if f.struct else PRIMITIVES[f.base][0]
                notes = ["v" + f.js["versions"]]
                if f.nullable:
                    notes.append("nullable v" + f.js["nullableVersions"])
                if f.tag is not None:
                    notes.append("tag %d" % f.tag)
                if f.default not in (None, ""):
                    notes.append("default " + f.default)
                note = " /* %s */" % ", ".join(notes)
                if f.array:
                    out.append("  %s *%s;%s" % (ctype, f.c, note))
                    out.append("  int32_t %s_count;" % f.c)
                else:
                    out.append("  %s %s;%s" % (ctype, f.c, note))
            if not s.fields:
                out.append("  char unused_; /* no fields: C needs a member */")
            out += ["};", ""]
        return out

    def prototypes(self):
        out = ["void %s_init(struct %s *m);" % (s.c, s.c) for s in self.msg.order]
        c = self.msg.top.c
        out += ["bool %s_decode(struct rd *r, int16_t version, struct %s *m, struct arena *a);"
                % (c, c),
                "void %s_encode(struct wr *w, int16_t version, const struct %s *m);" % (c, c),
                ""]
        return out

    def samples(self):
        """Test code: fill every field present in a version with a
        non-default value (or null, in the sample's null mode)."""
        out = []
        for s in self.msg.order:
            lines = ["%s_init(m);" % s.c]
            for f in s.fields:
                present = f.versions & s.reach
                if not present:
                    continue
                nl = bool_expr(f.nullable & present, present)
                lines += block(cond(present, s.reach), self.sample_field(f, nl))
            out += ["static void fill_%s(struct %s *m, int16_t version, struct sample *s) {"
                    % (s.c, s.c)] + indent(self.unused(lines, ["version", "s"])) + ["}", ""]
        return out

    def sample_field(self, f, nl):
        x = "m->" + f.c
        if f.array:
            return ["%s_count = sample_count(s, %s);" % (x, nl),
                    "%s = sample_array(s, %s_count, sizeof *%s);" % (x, x, x),
                    "for (int32_t i = 0; i < %s_count; i++) %s"
                    % (x, self.sample_value(f, "false", x + "[i]"))]
        return [self.sample_value(f, nl, x)]

    def sample_value(self, f, nl, x):
        if f.struct:
            return "fill_%s(&%s, version, s);" % (f.struct.c, x)
        if f.base in ("string", "bytes", "records"):
            return "%s = sample_%s(s, %s);" % (x, f.base, nl)
        if f.base == "bool":
            return "%s = %s;" % (x, "false" if c_default(f) == "true" else "true")
        if f.base == "uuid":
            return "%s = sample_uuid(s);" % x
        if f.base == "float64":
            return "%s = sample_f64(s);" % x
        ctype = PRIMITIVES[f.base][0]
        return "%s = (%s)sample_int(s, %s);" % (x, ctype, c_default(f) or "0")


# ---- files ----

PRELUDE = r"""
/* Reading: a null where the version has none is malformed input. */
static struct kstr read_string(struct rd *r, bool compact, bool nullable) {
  struct kstr s = rd_string(r, compact);
  if (s.len < 0 && !nullable) rd_fail(r);
  return s;
}

static struct kbytes read_bytes(struct rd *r, bool compact, bool nullable) {
  struct kbytes b = rd_bytes(r, compact);
  if (b.len < 0 && !nullable) rd_fail(r);
  return b;
}

static struct krecords read_records(struct rd *r, bool compact, bool nullable) {
  struct krecords rec = rd_records(r, compact);
  if (rec.len < 0 && !nullable) rd_fail(r);
  return rec;
}

/* rd_array_len refuses counts the rest of the input cannot hold, so a
 * hostile count never reaches the allocator. 0 after an error. */
static int32_t read_count(struct rd *r, bool compact, bool nullable, size_t min_elem_bytes) {
  int32_t n = rd_array_len(r, compact, min_elem_bytes);
  if (n < 0 && !nullable) rd_fail(r);
  return r->err ? 0 : n;
}

/* An init's zeroing in 64-byte pieces: GCC stores each with a few vector
 * moves, where one memset of a struct past 64 bytes becomes a rep stos
 * that costs a step per 8 bytes (FetchResponse's partitions, per fetch). */
static inline void struct_zero(void *m, size_t n) {
  unsigned char *p = m;
  for (; n >= 64; n -= 64, p += 64) memset(p, 0, 64);
  memset(p, 0, n);
}

/* Not zeroed: the decoder decodes every element (a struct's decoder
 * initialises it first), even after an error. */
static void *alloc_array(struct arena *a, int32_t n, size_t elem_bytes) {
  return n > 0 ? arena_alloc_uninit(a, (size_t)n * elem_bytes) : NULL;
}

/* One tagged field's header (KIP-482); `value` covers just its bytes, so a
 * known field is decoded in isolation and an unknown one is skipped whole. */
static bool read_tag(struct rd *r, uint32_t *tag, struct rd *value) {
  *tag = rd_uvarint(r);
  uint32_t size = rd_uvarint(r);
  const uint8_t *p = rd_skip(r, size);
  if (!p) return false;
  rd_init(value, p, size);
  return true;
}

/* Writing: a null where the version has none cannot go on the wire; the
 * peer gets the empty value instead (Kafka would throw). */
static void write_string(struct wr *w, struct kstr s, bool compact, bool nullable) {
  if (s.len < 0 && !nullable) s = (struct kstr){"", 0};
  wr_string(w, s, compact);
}

static void write_bytes(struct wr *w, struct kbytes b, bool compact, bool nullable) {
  if (b.len < 0 && !nullable) b = (struct kbytes){NULL, 0};
  wr_bytes(w, b, compact);
}

static void write_records(struct wr *w, const struct krecords *rec, bool compact,
                          bool nullable) {
  if (rec->len < 0 && !nullable) {
    wr_bytes(w, (struct kbytes){NULL, 0}, compact);
    return;
  }
  wr_records(w, rec, compact);
}

static inline int32_t write_count(struct wr *w, const void *elems, int32_t n, bool compact,
                                  bool nullable) {
  ASSERT(n >= -1);
  ASSERT(n <= 0 || elems != NULL);
  if (n < 0 && !nullable) n = 0;
  wr_array_len(w, n, compact);
  return n;
}

static bool uuid_is_zero(struct kuuid u) {
  static const struct kuuid zero;
  return memcmp(u.b, zero.b, sizeof u.b) == 0;
}

/* A tagged field's size precedes its value but is known only after the
 * value is encoded: encode in place, then slide the value up to make room
 * for the size. Tagged fields never carry file-backed records. */
static size_t tag_begin(struct wr *w, uint32_t tag) {
  wr_uvarint(w, tag);
  return w->mem.len;
}

static void tag_end(struct wr *w, size_t at) {
  ASSERT(at <= w->mem.len);
  ASSERT(w->splice_count == 0 || w->splices[w->splice_count - 1].mem_offset < at);
  size_t len = w->mem.len - at;
  ASSERT(len <= UINT32_MAX);
  size_t prefix = uvarint_size((uint32_t)len);
  buf_extend(&w->mem, prefix);
  memmove(w->mem.data + at + prefix, w->mem.data + at, len);
  uint32_t v = (uint32_t)len;
  for (size_t i = 0; i < prefix; i++, v >>= 7)
    w->mem.data[at + i] = (uint8_t)((v & 0x7f) | (i + 1 < prefix ? 0x80 : 0));
}
"""


def prelude(code):
    """The helpers of PRELUDE that `code` calls, in PRELUDE's order (the
    messages call all of them, so theirs is PRELUDE itself)."""
    assert PRELUDE.startswith("\n")
    pieces = PRELUDE[1:].split("\n\n")
    keep = []
    for piece in pieces:
        name = re.search(r"^static [^(]*?\b(\w+)\(", piece, re.M).group(1)
        if re.search(r"\b%s\(" % name, code):
            keep.append(piece)
    return "\n" + "\n\n".join(keep)


NOTICE = ("/* Generated by tools/protogen.py from Apache Kafka 3.9's message schemas;\n"
          " * do not edit (run `make proto`). */\n")


def write(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def gen_messages(msgs, out_dir, test_dir):
    names = [s.c for m in msgs for s in m.order]
    assert len(names) == len(set(names)), "C struct names collide"
    h = [NOTICE + "#ifndef SLUICE_MESSAGES_GEN_H", "#define SLUICE_MESSAGES_GEN_H", "",
         "#include <stdbool.h>", "#include <stdint.h>", "", '#include "base/arena.h"',
         '#include "proto/wire.h"', "",
         "/* Per message: <msg>_init sets the schema's defaults; <msg>_decode inits,",
         " * then reads version `version` (arrays from the arena, strings, bytes and",
         " * records point into the input) and returns !r->err; <msg>_encode appends",
         " * version `version`. Array members come with a <name>_count, -1 for null.",
         " * Fields outside a version's range are not on the wire: decode leaves",
         " * their default and encode skips them. */", ""]
    c = [NOTICE + '#include "proto/messages_gen.h"', "", "#include <string.h>", "",
         '#include "base/assert.h"']
    body = []
    t = [NOTICE.replace("tools/protogen.py", "tools/protogen.py for test_codec.c"),
         "/* Sample fillers: every field of a version set to a non-default value. */", ""]
    for m in msgs:
        g = Gen(m)
        over = "; overlay %s" % m.overlay if m.overlay else ""
        h += ["/* ---- %s (v%d-%d%s) ---- */" % (m.name, min(m.valid), max(m.valid), over), ""]
        h += g.declarations() + g.prototypes()
        body += ["/* ---- %s ---- */" % m.name, ""] + g.source()
        t += g.samples()
    c += [prelude("\n".join(body))] + body
    h += ["#endif", ""]
    t += ["CODEC_WRAPPERS(%s)" % m.top.c for m in msgs]
    t += ["", "static const struct codec_case codec_cases[] = {"]
    for m in msgs:
        t.append("    CODEC_CASE(%s, %s, %d, %d)," % (m.name, m.top.c, min(m.valid), max(m.valid)))
    t += ["};", ""]
    write(os.path.join(out_dir, "messages_gen.h"), "\n".join(h))
    write(os.path.join(out_dir, "messages_gen.c"), "\n".join(c).rstrip("\n") + "\n")
    write(os.path.join(test_dir, "codec_samples_gen.inc"), "\n".join(t))


def flexible_min(m):
    return min(m.flexible) if m.flexible else NEVER


def gen_api(pairs, out_dir):
    pairs = sorted(pairs, key=lambda p: p[1].api_key)
    enum = ["  API_%s = %d," % (snake(name).upper(), req.api_key) for name, req, _ in pairs]
    rows = ['    {API_%s, "%s", %d, %d, %d, %d},' % (
        snake(name).upper(), name, min(req.valid), max(req.valid), flexible_min(req),
        flexible_min(resp)) for name, req, resp in pairs]
    write(os.path.join(out_dir, "api.h"), API_H % "\n".join(enum))
    write(os.path.join(out_dir, "api.c"), API_C % "\n".join(rows))


API_H = NOTICE + """/* Kafka API keys and the version ranges of their schemas. */
#ifndef SLUICE_API_H
#define SLUICE_API_H

#include <stdint.h>

enum api_key {
%s
};

/* What the codecs can read and write; the server advertises its own,
 * narrower, ranges in ApiVersions. */
struct api_info {
  int16_t key;
  const char *name;
  int16_t min_version, max_version;
  int16_t request_flexible_min, response_flexible_min; /* 32767 if never */
};

/* NULL if the key is not one of ours. */
const struct api_info *api_info_get(int16_t key);

/* Header versions (KIP-482): request header 2 when the request version is
 * flexible, else 1; response header 1 when flexible, else 0, except that
 * ApiVersions responses always use 0 (KIP-511). Versions above the schema's
 * range count as flexible if the range's end does. -1 for an unknown key. */
int api_request_header_version(int16_t key, int16_t version);
int api_response_header_version(int16_t key, int16_t version);

#endif
"""

API_C = NOTICE + """#include "proto/api.h"

#include <stddef.h>

#include "base/assert.h"

static const struct api_info api_table[] = {
%s
};

const struct api_info *api_info_get(int16_t key) {
  for (size_t i = 0; i < ARRAY_LEN(api_table); i++) {
    if (api_table[i].key == key) return &api_table[i];
  }
  return NULL;
}

int api_request_header_version(int16_t key, int16_t version) {
  const struct api_info *info = api_info_get(key);
  if (!info) return -1;
  ASSERT(info->key == key);
  return version >= info->request_flexible_min ? 2 : 1;
}

int api_response_header_version(int16_t key, int16_t version) {
  const struct api_info *info = api_info_get(key);
  if (!info) return -1;
  /* A client may send an ApiVersions version we do not know; the response
   * header must be one it can read before it knows our versions. */
  if (key == API_API_VERSIONS) return 0;
  return version >= info->response_flexible_min ? 1 : 0;
}
"""


# ---- the metadata log's records ----

META_NOTICE = NOTICE.replace("message schemas;\n * do not edit",
                             "metadata log and\n * KRaft control record schemas; do not edit")


def version_enum(m):
    c = m.top.c.upper()
    return "enum { %s_VERSION_MIN = %d, %s_VERSION_MAX = %d };" % (
        c, min(m.valid), c, max(m.valid))


def gen_metadata(records, controls, msgs, out_dir, test_dir):
    """metadata_gen.{h,c}: codecs for the metadata log's records (every one
    flexible in all its versions) and the KRaft control records, the table of
    record api keys, and the test samples."""
    taken = {s.c for m in msgs for s in m.order}
    names = [s.c for m in records + controls for s in m.order]
    assert len(names) == len(set(names)), "C struct names collide"
    assert not taken & set(names), "metadata names collide with messages: %s" % (
        taken & set(names))
    keys = [m.api_key for m in records]
    assert None not in keys and len(keys) == len(set(keys)), "metadata api keys"
    for m in records + controls:
        assert m.flexible == m.valid, "%s: not flexible in every version" % m.name
    h = [META_NOTICE + "#ifndef SLUICE_METADATA_GEN_H", "#define SLUICE_METADATA_GEN_H", "",
         "#include <stdbool.h>", "#include <stdint.h>", "", '#include "base/arena.h"',
         '#include "proto/wire.h"', "",
         "/* KRaft's metadata log records (apiKey in metadata_record_info) and the",
         " * control records of its control batches, as proto/messages_gen.h has the",
         " * messages: <rec>_init sets the schema's defaults, <rec>_decode reads",
         " * version `version` (arrays from the arena, strings and bytes point into",
         " * the input) and returns !r->err, <rec>_encode appends it. Every version of",
         " * these is flexible: tagged fields are decoded when known, skipped when",
         " * not, and written only when they differ from their default.",
         " * <REC>_VERSION_MIN/MAX are the schema's version range. */", ""]
    body = []
    t = [META_NOTICE.replace("tools/protogen.py", "tools/protogen.py for test_meta_codec.c"),
         "/* Sample fillers: every field of a version set to a non-default value. */", ""]
    for m in records + controls:
        g = Gen(m)
        key = "" if m.api_key is None else "apiKey %d, " % m.api_key
        h += ["/* ---- %s (%sv%d-%d) ---- */" % (m.name, key, min(m.valid), max(m.valid)), "",
              version_enum(m), ""]
        h += g.declarations() + g.prototypes()
        body += ["/* ---- %s ---- */" % m.name, ""] + g.source()
        t += g.samples()
    enum = ["  METADATA_KEY_%s = %d," % (m.top.c.upper(), m.api_key) for m in records]
    rows = ['    {METADATA_KEY_%s, "%s", %d, %d},' % (
        m.top.c.upper(), m.name, min(m.valid), max(m.valid)) for m in records]
    h += [METADATA_TABLE_H % "\n".join(enum), "#endif", ""]
    c = [META_NOTICE + '#include "proto/metadata_gen.h"', "", "#include <stddef.h>",
         "#include <string.h>", "", '#include "base/assert.h"', prelude("\n".join(body))]
    c += body + [METADATA_TABLE_C % "\n".join(rows)]
    t += ["CODEC_WRAPPERS(%s)" % m.top.c for m in records + controls]
    t += ["", "static const struct codec_case metadata_cases[] = {"]
    for m in records + controls:
        t.append("    CODEC_CASE(%s, %s, %d, %d, %d)," % (
            m.name, m.top.c, -1 if m.api_key is None else m.api_key, min(m.valid),
            max(m.valid)))
    t += ["};", ""]
    write(os.path.join(out_dir, "metadata_gen.h"), "\n".join(h))
    write(os.path.join(out_dir, "metadata_gen.c"), "\n".join(c).rstrip("\n") + "\n")
    write(os.path.join(test_dir, "metadata_samples_gen.inc"), "\n".join(t))


METADATA_TABLE_H = """/* ---- the metadata log's record types ---- */

/* A metadata record's value: frame version, apiKey and version (unsigned
 * varints), then the record at that version. */
enum metadata_record_key {
%s
};

struct metadata_record_info {
  int16_t api_key;
  const char *name;
  int16_t min_version, max_version;
};

/* The schema of an apiKey; NULL when no schema has that key. */
const struct metadata_record_info *metadata_record_info_get(int32_t api_key);
"""

METADATA_TABLE_C = """/* ---- the metadata log's record types ---- */

static const struct metadata_record_info metadata_record_table[] = {
%s
};

const struct metadata_record_info *metadata_record_info_get(int32_t api_key) {
  for (size_t i = 0; i < ARRAY_LEN(metadata_record_table); i++) {
    if (metadata_record_table[i].api_key == api_key) return &metadata_record_table[i];
  }
  return NULL;
}"""


def main(argv):
    args = argv[1:]
    metadata_dir = option(args, "--metadata", None)
    overlays = Overlays(option(args, "--overlay", OVERLAY_DIR))
    if len(args) not in (2, 3):
        sys.exit("usage: protogen.py <messages-dir> <out-dir> [<test-dir>] "
                 "[--metadata <metadata-dir>] [--overlay <overlay-dir>]")
    try:
        generate(args, metadata_dir, overlays)
    except OverlayError as e:
        sys.exit("protogen.py: schema overlay: %s" % e)


def option(args, flag, default):
    """The value of `flag <value>` in args (removed from them), or default."""
    if flag not in args:
        return default
    i = args.index(flag)
    if i + 1 >= len(args):
        sys.exit("protogen.py: %s needs a directory" % flag)
    value = args[i + 1]
    del args[i:i + 2]
    return value


def generate(args, metadata_dir, overlays):
    src, out_dir = args[0], args[1]
    test_dir = args[2] if len(args) == 3 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "unit")
    msgs, pairs = [], []
    for api in APIS:
        req = Message(overlays.load(os.path.join(src, api + "Request.json")))
        resp = Message(overlays.load(os.path.join(src, api + "Response.json")))
        assert req.api_key == resp.api_key and req.valid == resp.valid, api
        msgs += [req, resp]
        pairs.append((api, req, resp))
    for name in HEADERS:
        msgs.append(Message(overlays.load(os.path.join(src, name + ".json"))))
    overlays.check_all_applied()
    gen_messages(msgs, out_dir, test_dir)
    gen_api(pairs, out_dir)
    if metadata_dir is not None:
        records = []
        for name in sorted(os.listdir(metadata_dir)):
            if name.endswith(".json"):
                schema = load_schema(os.path.join(metadata_dir, name))
                assert schema.get("type") == "metadata", name
                records.append(Message(schema))
        records.sort(key=lambda m: m.api_key)
        controls = [Message(load_schema(os.path.join(src, n + ".json"))) for n in KRAFT_CONTROL]
        gen_metadata(records, controls, msgs, out_dir, test_dir)


if __name__ == "__main__":
    main(sys.argv)
