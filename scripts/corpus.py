#!/usr/bin/env python3
"""Runs `host simulate` on every manifest of a folder, as a new user would point it at
the files they `kubectl apply`, and reports: files evaluated (exit 0, 1 or 3), the
workloads evaluated and the documents skipped by kind, the errors (exit 2) by reason,
and the findings by code.

    scripts/corpus.py FOLDER [--host target/debug/host] [-n runai-team-a]
                      [--policy FILE]... [--keep-namespaces] [--all] [-v]

Each file is copied to a scratch directory with `metadata.namespace` removed from its
documents (unless --keep-namespaces) and simulated with `-n NAMESPACE` on the built-in
demo cluster, with the credential-literal detectors on (policies/credential-literals/
policy.yaml, unless --policy says otherwise). The report counts the files that hold
containers (a `containers:` key), the manifests a secrets policy is about; --all counts
every YAML or JSON file. Nothing is written to the folder; only standard library."""
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
MANIFEST = (".yaml", ".yml", ".json")


def default_host():
    for profile in ("release", "debug"):
        path = os.path.join(REPO, "target", profile, "host")
        if os.path.exists(path):
            return path
    return "host"


def holds_containers(text):
    return re.search(r'^\s*-?\s*"?containers"?\s*:', text, re.M) is not None


def without_namespaces(text):
    """Drops `namespace:` directly under each document's top-level `metadata:`
    (block or flow style), line by line, so comments and layout stay as they are."""
    out, in_metadata, child_indent = [], False, None
    for line in text.split("\n"):
        if re.match(r"^(---|\.\.\.)\s*($|#)", line) or re.match(r"^\S", line):
            in_metadata, child_indent = False, None
        flow = re.match(r"^metadata:\s*\{(.*)\}\s*$", line)
        if flow:
            inner = re.sub(r"(^|,)\s*namespace\s*:\s*[^,}]*", r"\1", flow.group(1)).strip(" ,")
            out.append("metadata: {%s}" % inner)
            continue
        if re.match(r"^metadata:\s*(#.*)?$", line):
            in_metadata = True
            out.append(line)
            continue
        if in_metadata and line.strip() and not line.lstrip().startswith("#"):
            indent = len(line) - len(line.lstrip(" "))
            if child_indent is None:
                child_indent = indent
            if indent == child_indent and re.match(r"^\s*namespace\s*:", line):
                continue
        out.append(line)
    return "\n".join(out)


def json_without_namespaces(text):
    try:
        value = json.loads(text)
    except ValueError:
        return text
    items = value if isinstance(value, list) else value.get("items", [value]) if isinstance(value, dict) else []
    for item in [value] + list(items):
        if isinstance(item, dict) and isinstance(item.get("metadata"), dict):
            item["metadata"].pop("namespace", None)
    return json.dumps(value)


def reason(stderr, scratch):
    """The first error line, without the file name and the values it quotes, so that
    files failing alike count together."""
    line = next((l for l in stderr.splitlines() if l.strip()), "(no message)")
    line = line.replace(scratch, "FILE")
    line = re.sub(r"^error:\s*", "", line)
    if "no workload documents" in line:
        kinds = re.search(r"\(skipped: (.*?)\): ", line)
        only = ", ".join(sorted({k.split(" ")[0] for k in kinds.group(1).split(", ")})) if kinds else "nothing"
        return f"no workload in the file (it holds {only})"
    line = re.sub(r"FILE(#\d+)?:\s*", "", line)
    line = re.sub(r"document \d+: ", "", line)
    line = re.sub(r" at line \d+ column \d+", "", line)
    line = re.sub(r"`[^`]*`", "`…`", line)
    return line[:140]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder")
    ap.add_argument("--host", default=default_host())
    ap.add_argument("-n", "--namespace", default="runai-team-a")
    ap.add_argument("--policy", action="append",
                    default=None, help="policy files (default: the credential-literals example)")
    ap.add_argument("--keep-namespaces", action="store_true")
    ap.add_argument("--all", action="store_true", help="count every manifest, not only those holding containers")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every file with its result")
    args = ap.parse_args()
    policies = args.policy or [os.path.join(REPO, "policies", "credential-literals", "policy.yaml")]

    files = []
    for root, dirs, names in os.walk(args.folder):
        dirs.sort()
        files += [os.path.join(root, n) for n in sorted(names) if n.endswith(MANIFEST)]

    exits = collections.Counter()
    errors = collections.Counter()
    skipped = collections.Counter()
    workloads = collections.Counter()
    violations = collections.Counter()
    warnings = collections.Counter()
    credential_files = []
    error_files = collections.defaultdict(list)
    counted = 0
    with tempfile.TemporaryDirectory() as scratch_dir:
        for path in files:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            if not args.all and not holds_containers(text):
                continue
            counted += 1
            if not args.keep_namespaces:
                text = json_without_namespaces(text) if path.endswith(".json") else without_namespaces(text)
            scratch = os.path.join(scratch_dir, "manifest" + os.path.splitext(path)[1])
            with open(scratch, "w", encoding="utf-8") as f:
                f.write(text)
            command = [args.host, "simulate", scratch, "-n", args.namespace, "-o", "json"]
            for p in policies:
                command += ["--policy", p]
            run = subprocess.run(command, capture_output=True, text=True)
            exits[run.returncode] += 1
            rel = os.path.relpath(path, args.folder)
            if run.returncode not in (0, 1, 3):
                why = reason(run.stderr, scratch)
                errors[why] += 1
                error_files[why].append(rel)
                if args.verbose:
                    print(f"{run.returncode} {rel}: {why}", file=sys.stderr)
                continue
            found = []
            for element in json.loads(run.stdout):
                if "skipped" in element:
                    s = element["skipped"]
                    key = s["kind"] or "(no kind)"
                    if s["reason"] != "not a workload":
                        key += " (" + re.sub(r"`[^`]*`", "`…`", s["reason"]).split(" (")[0] + ")"
                    skipped[key] += 1
                    continue
                workloads[element["workload"]["kind"]] += 1
                for v in element["violations"]:
                    violations[v["code"]] += 1
                    found.append(v["code"])
                for w in element["warnings"]:
                    warnings[w["code"]] += 1
            if "credential-literal" in found:
                credential_files.append(rel)
            if args.verbose:
                print(f"{run.returncode} {rel}: {', '.join(sorted(set(found))) or 'no violation'}", file=sys.stderr)

    evaluated = exits[0] + exits[1] + exits[3]
    what = "manifests" if args.all else "manifests holding containers"
    print(f"# {args.folder}: {counted} {what}\n")
    print(f"host: {args.host}; `simulate FILE -n {args.namespace}`"
          f"{'' if args.keep_namespaces else ' (metadata.namespace removed)'}; policies: "
          + ", ".join(os.path.relpath(p, REPO) if p.startswith(REPO) else p for p in policies) + "\n")
    print("| result | files |\n|---|---:|")
    print(f"| evaluated (exit 0, 1 or 3) | {evaluated} of {counted} |")
    for code, label in ((0, "admitted, would start (0)"), (1, "rejected (1)"), (3, "admitted, would not start (3)")):
        print(f"| {label} | {exits[code]} |")
    print(f"| input error (exit 2) | {counted - evaluated} |\n")
    table("workloads evaluated, by kind", "kind", workloads)
    table("errors (exit 2) by reason", "reason", errors)
    table("documents skipped, by kind", "kind", skipped)
    table("violations by code", "code", violations)
    table("warnings by code", "code", warnings)
    print(f"files with a `credential-literal` violation: {len(credential_files)}")
    for f in credential_files:
        print(f"- {f}")
    if error_files:
        print("\nfiles with an input error:")
        for why, names in sorted(error_files.items()):
            for n in names:
                print(f"- {n}: {why}")


def table(title, column, counter):
    if not counter:
        print(f"{title}: none\n")
        return
    print(f"{title}:\n\n| {column} | count |\n|---|---:|")
    for key, n in counter.most_common():
        print(f"| {key.replace('|', '/')} | {n} |")
    print()


if __name__ == "__main__":
    main()
