#!/usr/bin/env bash
# Hostile-input probes of issue 14: each runs the host binary with a bounded time
# (20 s) and resident memory (3 GiB, see probe_run.py), and prints one table row: the probe, the exit
# code, the first line of output (stderr, else stdout; cut at 100 characters, control
# characters shown as \xNN), the wall time and the peak RSS.
# Usage: scripts/probes.sh [HOST_BINARY] > table.md   (default: target/release/host)
set -uo pipefail
cd "$(dirname "$0")/.."
HOST=$(realpath "${1:-target/release/host}")
PROBE=$(realpath scripts/probe_run.py)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
export RUNAI_SIM_STATE="$WORK/state"
SECRET='hunter2-s3cr3t-v4lue'

# Inputs.
printf '' > empty.yaml
printf -- '---\n' > dashes.yaml
cat > crd-obj.yaml <<Y
apiVersion: run.ai/v2alpha1
kind: TrainingWorkload
metadata: {name: w1, namespace: runai-team-a}
spec:
  environment:
    items:
      DB_PASSWORD: {value: {nested: "$SECRET"}}
Y
cat > pod-valuefrom.yaml <<Y
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: runai-team-a}
spec:
  containers:
  - name: c
    image: busybox
    env:
    - name: DB_PASSWORD
      valueFrom: "$SECRET"
Y
cat > pod-value-int.yaml <<Y
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: runai-team-a}
spec:
  containers:
  - name: c
    image: busybox
    env:
    - name: DB_PASSWORD
      value: ["$SECRET"]
Y
cat > api-extra.json <<Y
{"name": "w", "projectId": "team-a", "spec": {"environmentVariables": [{"name": "TOKEN", "value": "x", "secret": "$SECRET"}]}}
Y
python3 - <<'PY'
open('deep-flow.yaml','w').write('a: ' + '[' * 100000 + ']' * 100000 + '\n')
open('deep-block.yaml','w').write(''.join('  ' * i + 'a:\n' for i in range(3000)) + '  ' * 3000 + 'b: 1\n')
open('bom.yaml','w', encoding='utf-8-sig').write('apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: runai-team-a}\nspec:\n  containers: [{name: c, image: x, env: [{name: A, value: "1"}]}]\n')
open('flow.yaml','w').write('{apiVersion: v1, kind: Pod, metadata: {name: p, namespace: runai-team-a}, spec: {containers: [{name: c, image: x}]}}\n')
open('dupkey.yaml','w').write('apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: runai-team-a}\nmetadata: {name: q, namespace: runai-team-b}\nspec: {containers: [{name: c, image: x}]}\n')
open('nan.yaml','w').write('apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: runai-team-a}\nspec: {containers: [{name: c, image: x, env: [{name: A, value: .nan}]}]}\n')
open('ansi.yaml','w').write('apiVersion: v1\nkind: Pod\nmetadata: {name: "p\\e[2K\\rADMITTED\\n", namespace: runai-team-a}\nspec: {containers: [{name: c, image: x}]}\n')
open('longname.yaml','w').write('apiVersion: v1\nkind: Pod\nmetadata: {name: "' + 'a' * 100000 + '", namespace: runai-team-a}\nspec: {containers: [{name: c, image: x}]}\n')
open('seed-secret.yaml','w').write('apiVersion: v1\nkind: Secret\n  name: my-secret\n  namespace: runai-team-a\n  username: YWRtaW4=\n  password: cGFzcw==\n')
laughs = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + ''.join(f'{chr(98+i)}: &{chr(98+i)} [*{chr(97+i)},*{chr(97+i)},*{chr(97+i)},*{chr(97+i)},*{chr(97+i)},*{chr(97+i)},*{chr(97+i)},*{chr(97+i)},*{chr(97+i)}]\n' for i in range(9))
open('laughs.yaml','w').write(laughs)
open('binary.yaml','wb').write(bytes(range(256)) * 4)
PY
mkfifo fifo
mkdir -p loop/a && ln -s .. loop/a/back && printf 'steps:\n  - submit: {project: team-a}\n    expect: {allowed: true}\n' > loop/x.suite.yaml

row() { local name=$1; shift; python3 "$PROBE" "$name" /dev/null "$SECRET" "$@"; }
rowin() { local name=$1 input=$2; shift 2; python3 "$PROBE" "$name" "$input" "$SECRET" "$@"; }

echo '| probe | exit | first line of output | time | peak RSS |'
echo '|---|---:|---|---:|---:|'
row 'CRD env value is an object' "$HOST" simulate crd-obj.yaml
row 'Pod valueFrom is a string' "$HOST" simulate pod-valuefrom.yaml
row 'Pod env value is a list' "$HOST" simulate pod-value-int.yaml
row 'REST API entry with an extra field' "$HOST" simulate api-extra.json
row 'submit -e =VALUE' "$HOST" submit -p team-a -e "=$SECRET"
rowin 'simulate - </dev/zero' /dev/zero "$HOST" simulate -
row 'simulate /dev/zero' "$HOST" simulate /dev/zero
row 'simulate --plugin /dev/zero' "$HOST" simulate --plugin /dev/zero crd-obj.yaml
row 'simulate FIFO without writer' "$HOST" simulate fifo
row 'simulate binary file' "$HOST" simulate binary.yaml
row 'YAML 100k nested flow levels' "$HOST" simulate deep-flow.yaml
row 'YAML 3k nested block levels' "$HOST" simulate deep-block.yaml
row 'project create x --namespace runai' "$HOST" project create x --namespace runai
row 'two Projects claim one namespace (apply)' bash -c "printf 'apiVersion: run.ai/v2\nkind: Project\nmetadata: {name: p1}\nspec: {namespace: shared}\n---\napiVersion: run.ai/v2\nkind: Project\nmetadata: {name: p2}\nspec: {namespace: shared}\n' > two.yaml && '$HOST' apply -f two.yaml"
row 'apply Secret to namespace nowhere' bash -c "printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: nowhere}\nstringData: {a: b}\n' > s.yaml && '$HOST' apply -f s.yaml"
row 'test: directory symlink loop' "$HOST" test loop
row 'simulate ANSI/newline name' "$HOST" simulate ansi.yaml
row 'empty workload file' "$HOST" simulate empty.yaml
row '--- alone' "$HOST" simulate dashes.yaml
row '/dev/null' "$HOST" simulate /dev/null
row 'bench --seconds 1e300' "$HOST" bench --seconds 1e300
row 'YAML flow-style document' "$HOST" simulate flow.yaml
row 'UTF-8 BOM' "$HOST" simulate bom.yaml
row 'duplicate mapping key' "$HOST" simulate dupkey.yaml
row '.nan env value' "$HOST" simulate nan.yaml
row "submit 'Bad_Name!'" "$HOST" submit 'Bad_Name!' -p team-a
row 'project list on a mistyped --state' "$HOST" project list --state "$WORK/typo"
row '100k-character name' "$HOST" simulate longname.yaml
row 'Secret as the Run:ai page prints it' "$HOST" apply -f seed-secret.yaml
row 'YAML alias bomb (billion laughs)' "$HOST" simulate laughs.yaml
row 'adm set on 10,000 projects (output bytes)' bash -c "python3 -c \"
import sys
for i in range(10000): print(f'---\\napiVersion: run.ai/v2\\nkind: Project\\nmetadata: {{name: p{i}}}')
print('---\\napiVersion: v1\\nkind: Secret\\nmetadata: {name: shared, namespace: runai}\\nstringData: {k: v}')
\" > many.yaml && '$HOST' apply -f many.yaml >/dev/null && '$HOST' adm set secret shared --cluster-wide | wc -c"
