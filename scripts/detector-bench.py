#!/usr/bin/env python3
"""Side-by-side benchmark of credential detectors on the same values (issue 24).

Three scanners see every value of the corpora of scripts/make-credential-corpus.py:

- ours: the plugin's `credential-literal` rule through `host simulate -o json`: each
  value becomes an env var of a Pod under its name, or a container's `args` (a command
  line), evaluated against a cluster whose only SecretPolicy sets
  `credentialLiterals: {}` (every detector, default entropy rule, no sensitive names);
  a value is found when a `credential-literal` finding names its field.
- detect-secrets (PyPI, `pip install detect-secrets==1.5.0`): its normal scan,
  `detect-secrets scan FILE` with its default plugins and filters, of `.env` files of
  `NAME="VALUE"` lines (a command line is `COMMAND="item item ..."`), one value a
  file, the folder scanned at once (`detect-secrets scan --all-files .`): it reports a
  secret once per file, and for some plugins the secret is a constant or a prefix.
  Quoting gives it its best case: unquoted, its entropy and keyword plugins skip
  `.env` values.
- rusty-hog as Kubewarden's env-variable-secrets-scanner applies it: the default rules
  of rusty_hog_scanner at the revision the policy pins (newrelic/rusty-hog d65f94b,
  crates/rusty-hog-scanner/src/default_rules.json), matched as regular expressions
  (`SecretScanner::matches`: no entropy filter, no allowlist) on each line of an env
  value, then on the value base64-decoded when nothing matched. The rules are restated
  below for Python's `re` (POSIX classes spelled out). The policy scans env values
  only; a command line is given to it as if it were one (it would not see it at all).

Recall per credential family (tests/credentials/contexts.tsv), and false positives on
the ordinary values (tests/credentials/ordinary-values.txt, each as an env var whose
name says nothing, and the ordinary values of contexts.tsv under their own names).
The output is a Markdown table; `--misses` also lists what each scanner missed or
flagged wrongly, values included (the corpora are made up).

    python3 scripts/detector-bench.py [--host target/debug/host] [--contexts F] [--ordinary F]
"""
import argparse, base64, collections, json, os, re, shlex, string, subprocess, sys, tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

# ----------------------------------------------------------------- the corpora

Entry = collections.namedtuple("Entry", "family form name items")  # items: [value] or argv


def read_contexts(path):
    out = []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        family, form, *fields = line.split("\t")
        if form == "env" and len(fields) == 2:
            out.append(Entry(family, "env", fields[0], [fields[1]]))
        elif form == "args" and fields:
            out.append(Entry(family, "args", None, fields))
        else:
            sys.exit(f"{path}: expected FAMILY<TAB>env<TAB>NAME<TAB>VALUE or FAMILY<TAB>args<TAB>ITEM...: {line[:40]}")
    return out


def read_ordinary(path):
    values = [l.rstrip("\n") for l in open(path, encoding="utf-8")]
    values = [v for v in values if v and not v.startswith("#")]
    return [Entry("ordinary", "env", f"VALUE_{i}", [v]) for i, v in enumerate(values)]


def command_text(items):
    return " ".join(shlex.quote(i) for i in items)

# ------------------------------------------------------------------------ ours

CLUSTER = """apiVersion: run.ai/v2
kind: Project
metadata: {name: team-a}
---
apiVersion: secrets.policy.run.ai/v1alpha1
kind: SecretPolicy
metadata: {name: detectors, namespace: runai}
spec:
  requireExistingReferences: false
  credentialLiterals: {}
"""
CHUNK = 150  # a decision lists 200 violations at most


def ours(entries, host, tmp):
    cluster = os.path.join(tmp, "cluster.yaml")
    open(cluster, "w").write(CLUSTER)
    found = [False] * len(entries)
    docs, fields = [], {}
    for start in range(0, len(entries), CHUNK):
        pod = f"bench-{start}"
        env, containers = [], []
        for i in range(start, min(start + CHUNK, len(entries))):
            e = entries[i]
            if e.form == "env":
                fields[(pod, f"spec.containers[0].env[{len(env)}].value")] = i
                env.append({"name": e.name, "value": e.items[0]})
            else:
                c = len(containers) + 1
                for k in range(len(e.items)):
                    fields[(pod, f"spec.containers[{c}].args[{k}]")] = i
                containers.append({"name": f"c{c}", "image": "x", "args": e.items})
        docs.append({"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": pod, "namespace": "runai-team-a"},
                     "spec": {"containers": [{"name": "c0", "image": "x", "env": env}] + containers}})
    workloads = os.path.join(tmp, "workloads.json")
    # JSON is YAML: one document per line.
    open(workloads, "w").write("\n---\n".join(json.dumps(d) for d in docs))
    run = subprocess.run([host, "simulate", workloads, "--cluster", cluster, "-o", "json"],
                         capture_output=True, text=True)
    if run.returncode not in (0, 1, 3):
        sys.exit(f"host simulate failed ({run.returncode}): {run.stderr[:2000]}")
    for decision in json.loads(run.stdout):
        pod = decision["workload"]["name"]
        for v in decision["violations"]:
            if v["code"] == "more-findings":
                sys.exit("a decision was cut at 200 violations: lower CHUNK")
            if v["code"] == "credential-literal":
                found[fields[(pod, v["field"])]] = True
    return found

# -------------------------------------------------------------- detect-secrets


def env_line(e):
    name = e.name if e.form == "env" else "COMMAND"
    value = e.items[0] if e.form == "env" else command_text(e.items)
    if '"' in value and "'" not in value:
        return f"{name}='{value}'"
    return name + '="' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def detect_secrets(entries, tmp):
    # One file a value: detect-secrets reports a secret once per file, and some of its
    # plugins report a constant (`BEGIN RSA PRIVATE KEY`) or a capture group (`ghp`)
    # as the secret, so every GitHub token of a file after the first was dropped.
    folder = os.path.join(tmp, "detect-secrets")
    os.mkdir(folder)
    for i, e in enumerate(entries):
        open(os.path.join(folder, f"{i}.env"), "w", encoding="utf-8").write(env_line(e) + "\n")
    run = subprocess.run(["detect-secrets", "scan", "--all-files", "."], capture_output=True, text=True, cwd=folder)
    if run.returncode != 0:
        sys.exit(f"detect-secrets failed: {run.stderr[:2000]}")
    flagged = {int(name.split(".")[0]) for name, results in json.loads(run.stdout)["results"].items() if results}
    return [i in flagged for i in range(len(entries))]


# ------------------------------------------- rusty-hog's rules, Kubewarden's way

P = "[\\s" + re.escape(string.punctuation) + "]"            # [\s[[:punct:]]]
PC = "[\\s" + re.escape(string.punctuation) + "\\x00-\\x1f\\x7f]"  # ... [[:cntrl:]]
NOT_WORD_COLON_SLASH = "[^\\w:/]"                              # [\W&&[^:/]]
RUSTY_HOG = {  # newrelic/rusty-hog d65f94b, default_rules.json, name: pattern
    "Slack Token": r"(xox[p|b|o|a]-[0-9]{10,13}-[0-9]{10,13}[a-zA-Z0-9\-]*)",
    "RSA private key": r"-----BEGIN RSA PRIVATE KEY-----",
    "SSH (DSA) private key": r"-----BEGIN DSA PRIVATE KEY-----",
    "SSH (EC) private key": r"-----BEGIN EC PRIVATE KEY-----",
    "PGP private key block": r"-----BEGIN PGP PRIVATE KEY BLOCK-----",
    "Amazon AWS Access Key ID": r"AKIA[0-9A-Z]{16}",
    "Amazon MWS Auth Token": r"amzn\.mws\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "Facebook Access Token": r"EAACEdEose0cBA[0-9A-Za-z]+",
    "Facebook OAuth": rf"(?i)facebook{P}{{1,4}}[0-9a-f]{{32}}{P}?",
    "GitHub": rf"(?i)(github|access[{re.escape(string.punctuation)}]token){P}{{1,4}}[0-9a-zA-Z]{{35,40}}",
    "Generic API Key": rf"(?i)(api|access){P}?key{P}{{1,4}}[0-9a-zA-Z\-_]{{16,64}}{P}?",
    "Generic Account API Key": rf"(?i)account{P}?api{P}{{1,4}}[0-9a-zA-Z\-_]{{16,64}}{P}?",
    "Generic Secret": rf"(?i)secret{P}{{1,4}}[0-9a-zA-Z\-_]{{16,64}}{P}?",
    "Google API Key": r"AIza[0-9A-Za-z\-_]{35}",
    "Google Cloud Platform OAuth": r"(?i)[0-9]+-[0-9A-Za-z_]{32}\.apps\.googleusercontent\.com",
    "Google (GCP) Service-account": r"(?i)\"type\": \"service_account\"",
    "Google OAuth Access Token": r"ya29\.[0-9A-Za-z\-_]+",
    "Grafana API Key": r"eyJrIjoi[A-Za-z0-9]{70,}={0,2}",
    "Grafana Cloud API Token": r"glc_[A-Za-z0-9+/]{32,}={0,2}",
    "Grafana Service Account Token": r"glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}",
    "Heroku API Key": rf"[h|H][e|E][r|R][o|O][k|K][u|U]{P}{{1,4}}[0-9A-F]{{8}}-[0-9A-F]{{4}}-[0-9A-F]{{4}}-[0-9A-F]{{4}}-[0-9A-F]{{12}}",
    "MailChimp API Key": r"[0-9a-f]{32}-us[0-9]{1,2}",
    "Mailgun API Key": r"(?i)key-[0-9a-zA-Z]{32}",
    "Credentials in absolute URL": r"(?i)((https?|ftp)://)(([a-z0-9$_\.\+!\*'\(\),;\?&=-]|%[0-9a-f]{2})+(:([a-z0-9$_\.\+!\*'\(\),;\?&=-]|%[0-9a-f]{2})+)@)((([a-z0-9]\.|[a-z0-9][a-z0-9-]*[a-z0-9]\.)*[a-z][a-z0-9-]*[a-z0-9]|((\d|[1-9]\d|1\d{2}|2[0-4][0-9]|25[0-5])\.){3}(\d|[1-9]\d|1\d{2}|2[0-4][0-9]|25[0-5]))(:\d+)?)(((/+([a-z0-9$_\.\+!\*'\(\),;:@&=-]|%[0-9a-f]{2})*)*(\?([a-z0-9$_\.\+!\*'\(\),;:@&=-]|%[0-9a-f]{2})*)?)?)?",
    "PayPal Braintree Access Token": r"(?i)access_token\$production\$[0-9a-z]{16}\$[0-9a-f]{32}",
    "Picatic API Key": r"(?i)sk_live_[0-9a-z]{32}",
    "Slack Webhook": r"(?i)https://hooks.slack.com/services/T[a-zA-Z0-9_]{8}/B[a-zA-Z0-9_]{8,10}/[a-zA-Z0-9_]{24}",
    "Stripe API Key": r"(?i)sk_live_[0-9a-zA-Z]{24}",
    "Stripe Restricted API Key": r"(?i)rk_live_[0-9a-zA-Z]{24}",
    "Square Access Token": r"(?i)sq0atp-[0-9A-Za-z\-_]{22}",
    "Square OAuth Secret": r"(?i)sq0csp-[0-9A-Za-z\-_]{43}",
    "Twilio API Key": r"SK[0-9a-fA-F]{32}",
    "Twitter Access Token": rf"(?i)twitter{P}{{1,4}}[1-9][0-9]+-[0-9a-zA-Z]{{40}}",
    "Twitter OAuth": rf"(?i)twitter{P}{{1,4}}['|\"]?[0-9a-zA-Z]{{35,44}}['|\"]?",
    "New Relic Partner & REST API Key": rf"{P}[A-Fa-f0-9]{{47}}{PC}",
    "New Relic Mobile Application Token": rf"{P}[A-Fa-f0-9]{{42}}{PC}",
    "New Relic Synthetics Private Location": r"(?i)minion_private_location_key",
    "New Relic Insights Key (specific)": rf"(?i)insights{P}?(key|query|insert){P}{{1,4}}\b[\w-]{{32,40}}\b",
    "New Relic Insights Key (vague)": rf"(?i)(query|insert){P}?key{P}{{1,4}}b[\w-]{{32,40}}\b",
    "New Relic License Key": rf"(?i)license{P}?key{P}{{1,4}}\b[\w-]{{32,47}}\b",
    "New Relic Internal API Key": r"(?i)nr-internal-api-key",
    "New Relic HTTP Auth Headers and API Key": rf"(?i)(x|newrelic|nr)-?(admin|partner|account|query|insert|api|license)-?(id|key){P}{{1,4}}\b[\w-]{{32,47}}\b",
    "New Relic API Key Service Key (new format)": r"(?i)NRAK-[A-Za-z0-9]{27}",
    "New Relic APM License Key (new format)": r"(?i)[A-Fa-f0-9]{36}NRAL",
    "New Relic APM License Key (new format, region-aware)": r"(?i)[a-z]{2}[0-9]{2}xx[A-Fa-f0-9]{30}NRAL",
    "New Relic REST API Key (new format)": r"(?i)NRRA-[A-Fa-f0-9]{42}",
    "New Relic REST API Key (another new-style format)": r"(?i)NRRA-[A-Fa-f0-9]{21}",
    "New Relic Admin API Key (new format)": r"(?i)NRAA-[A-Fa-f0-9]{27}",
    "New Relic Insights Insert Key (new format)": r"(?i)NRII-[A-Za-z0-9-_]{32}",
    "New Relic Insights Query Key (new format)": r"(?i)NRIQ-[A-Za-z0-9-_]{32}",
    "New Relic Synthetics Private Location Key (new format)": r"(?i)NRSP-[A-Za-z]{2}[0-9]{2}[A-Fa-f0-9]{31}",
    "New Relic Pixie API Key": r"px-api-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}",
    "New Relic Pixie Deploy Key": r"px-dep-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}",
    "Email address": rf"(?i)\b(?:[a-z0-9!#$%&'*+/=?^_`{{|}}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{{|}}~-]+)*)@[a-z0-9][a-z0-9-]+\.(com|de|cn|net|uk|org|info|nl|eu|ru)({NOT_WORD_COLON_SLASH}|\A|\Z)",
    "New Relic Account IDs in URL": r"(newrelic\.com/)?accounts/\d{1,10}/",
    "Account ID": rf"(?i)account{P}?id{P}{{1,4}}\b[\d]{{1,10}}\b",
    "Salary Information": rf"(?i)(salary|commission|compensation|pay)({P}(amount|target))?{P}{{1,4}}\d+",
}
# The file lists the Google API key's pattern under five names; one is enough here.
RUSTY_HOG_RE = [re.compile(p, re.ASCII) for p in RUSTY_HOG.values()]


def rusty_hog_text(text):
    return any(r.search(line) for line in text.split("\n") for r in RUSTY_HOG_RE)


def rusty_hog_value(value):
    if rusty_hog_text(value):
        return True
    # `BASE64_STD_ENGINE.decode(input)`: canonical standard base64 only.
    try:
        decoded = base64.b64decode(value, validate=True)
    except ValueError:
        return False
    if base64.b64encode(decoded).decode() != value:
        return False
    return rusty_hog_text(decoded.decode("latin-1"))


def rusty_hog(entries):
    return [rusty_hog_value(e.items[0] if e.form == "env" else command_text(e.items)) for e in entries]

# ---------------------------------------------------------------------- report


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", help="the host binary (default: target/release/host, else target/debug/host)")
    ap.add_argument("--contexts", default=os.path.join(ROOT, "tests/credentials/contexts.tsv"))
    ap.add_argument("--ordinary", default=os.path.join(ROOT, "tests/credentials/ordinary-values.txt"))
    ap.add_argument("--misses", action="store_true", help="list what each scanner missed or flagged wrongly")
    args = ap.parse_args()
    host = args.host or next((p for p in (os.path.join(ROOT, "target", k, "host") for k in ("release", "debug"))
                              if os.path.exists(p)), None)
    if not host:
        sys.exit("no host binary: run `cargo build -p host` (or pass --host)")
    contexts = read_contexts(args.contexts)
    ordinary = read_ordinary(args.ordinary)
    entries = contexts + ordinary
    with tempfile.TemporaryDirectory() as tmp:
        results = {"ours": ours(entries, host, tmp),
                   "detect-secrets": detect_secrets(entries, tmp),
                   "rusty-hog (Kubewarden)": rusty_hog(entries)}
    tools = list(results)
    families = []
    for e in contexts:
        if e.family != "ordinary" and e.family not in families:
            families.append(e.family)
    print("| family | values | " + " | ".join(tools) + " |")
    print("|---|---:|" + "---:|" * len(tools))

    def row(label, indices, rate):
        cells = []
        for t in tools:
            hits = sum(results[t][i] for i in indices)
            cells.append(f"{hits} ({100 * hits / len(indices):.{rate}f}%)" if indices else "-")
        print(f"| {label} | {len(indices)} | " + " | ".join(cells) + " |")
    for f in families:
        row(f"{f} (found)", [i for i, e in enumerate(contexts) if e.family == f], 0)
    n = len(contexts)
    row("ordinary values (flagged)", [n + i for i in range(len(ordinary))], 2)
    row("ordinary ML values in context (flagged)", [i for i, e in enumerate(contexts) if e.family == "ordinary"], 2)
    if args.misses:
        for t in tools:
            for i, e in enumerate(entries):
                wrong = results[t][i] if e.family == "ordinary" else not results[t][i]
                if wrong:
                    what = "flagged" if e.family == "ordinary" else "missed"
                    print(f"{t}\t{what}\t{e.family}\t{e.form}\t{e.name or ''}\t{' '.join(e.items)[:160]}", file=sys.stderr)


if __name__ == "__main__":
    main()
