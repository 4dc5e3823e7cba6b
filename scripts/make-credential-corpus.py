#!/usr/bin/env python3
"""Writes tests/credentials/ordinary-values.txt: env values and command arguments of
the kind GPU training workloads carry, none of them a credential (paths, URLs without
passwords, versions, model names, UUIDs, image digests, git SHAs, run IDs, numbers,
NCCL/CUDA settings, JSON, hostnames, ARNs, timestamps...), and
tests/credentials/credentials.txt: made-up values in every detector's shape. Seeded:
the output is the same on every run. The false-positive rate of the detectors on the
first file is measured by guest/tests/credentials.rs and reported in the README."""
import hashlib, json, os, random, uuid

rng = random.Random(20261130)
here = os.path.join(os.path.dirname(__file__), "..", "tests", "credentials")
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

def hexs(n): return "".join(rng.choice("0123456789abcdef") for _ in range(n))
def alnum(n, alphabet=ALNUM): return "".join(rng.choice(alphabet) for _ in range(n))
def pick(xs): return rng.choice(xs)

orgs = ["meta-llama", "mistralai", "google", "microsoft", "openai", "stabilityai", "bigscience",
        "EleutherAI", "tiiuae", "Qwen", "deepseek-ai", "facebook", "nvidia", "allenai", "sentence-transformers"]
models = ["Llama-3.1-8B-Instruct", "Llama-2-70b-chat-hf", "Mixtral-8x7B-Instruct-v0.1", "Mistral-7B-v0.3",
          "flan-t5-xxl", "gemma-2-27b-it", "deberta-v3-large", "whisper-large-v3", "stable-diffusion-xl-base-1.0",
          "bloom-7b1", "pythia-12b-deduped", "falcon-40b-instruct", "Qwen2.5-72B-Instruct", "DeepSeek-V2-Lite",
          "opt-66b", "Nemotron-4-340B-Instruct", "OLMo-7B-0724-hf", "all-MiniLM-L6-v2", "bert-base-uncased",
          "roberta-large-mnli", "t5-11b", "gpt2-xl", "clip-vit-large-patch14", "segformer-b5-finetuned-ade-640-640"]
words = ["train", "eval", "finetune", "pretrain", "inference", "sweep", "ablation", "baseline", "dist", "ddp",
         "fsdp", "deepspeed", "lora", "qlora", "rlhf", "dpo", "sft", "tokenize", "shard", "export"]
registries = ["nvcr.io/nvidia/pytorch", "nvcr.io/nvidia/tritonserver", "ghcr.io/huggingface/text-generation-inference",
              "docker.io/pytorch/pytorch", "gcr.io/kaggle-images/python", "quay.io/jupyter/scipy-notebook",
              "registry.example.internal/ml/trainer", "public.ecr.aws/deep-learning/pytorch"]

values = []
def add(v): values.append(v)

for _ in range(150):
    add(pick(["/data", "/mnt", "/workspace", "/home/jovyan", "/scratch", "/datasets", "/checkpoints"]) + "/" +
        "/".join(pick(words + ["imagenet", "coco", "laion", "c4", "wikitext", "shards", "v2", "2024-05"])
                 for _ in range(rng.randint(1, 4))))
for p in ["/opt/conda/bin/python", "/usr/local/cuda-12.4/lib64", "/usr/local/lib/python3.11/site-packages",
          "/usr/lib/x86_64-linux-gnu", "/root/.cache/huggingface", "/dev/shm", "/tmp/torchelastic_7x2k9p"]:
    add(p)
for _ in range(200):
    add(pick(orgs) + "/" + pick(models))
    add(pick(models))
for _ in range(150):
    add(pick(["http", "https"]) + "://" + pick(["mlflow", "wandb", "tensorboard", "minio", "triton", "vllm"]) +
        pick([".runai.svc", ".default.svc.cluster.local", ".internal.example.com", ""]) +
        pick([":5000", ":8080", ":9000", ":443", ""]) + pick(["", "/v1", "/api/2.0", "/" + pick(words)]))
    add(pick(["s3", "gs", "az"]) + "://" + pick(["ml-datasets", "team-a-checkpoints", "research-bucket"]) + "/" +
        "/".join(pick(words) for _ in range(rng.randint(1, 3))))
    add("https://huggingface.co/" + pick(orgs) + "/" + pick(models) + pick(["", "/resolve/main/config.json"]))
    add(pick(["redis", "postgres", "mongodb", "amqp", "kafka"]) + "://" + pick(["app@", ""]) +
        pick(["db", "redis-master", "broker-0.broker"]) + pick([":5432", ":6379", ":27017", ":5672", ":9092"]) + pick(["/0", "/train", ""]))
for _ in range(150):
    add(f"{rng.randint(0,3)}.{rng.randint(0,40)}.{rng.randint(0,20)}")
    add(pick(["v", ""]) + f"{rng.randint(0,2)}.{rng.randint(0,20)}.{rng.randint(0,9)}" + pick(["", "-rc.1", "-beta", "+cu121", ".post1"]))
    add(pick(["cu118", "cu121", "cu124", "py3.10", "py3.11", "torch2.3", "24.05-py3", "12.4.1-cudnn-devel-ubuntu22.04"]))
for _ in range(200):
    add(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
    add("GPU-" + str(uuid.UUID(int=rng.getrandbits(128), version=4)))
for _ in range(150):
    d = hexs(64)
    add(pick(registries) + "@sha256:" + d)
    add("sha256:" + d)
    add(pick(registries) + ":" + pick(["24.05-py3", "latest", "2.3.1-cuda12.1-cudnn8-runtime", "v" + hexs(7)]))
for _ in range(150):
    add(hexs(40)); add(hexs(7)); add(hexs(32))  # git SHAs, short SHAs, MLflow run IDs / md5
    add(alnum(8, "abcdefghijklmnopqrstuvwxyz0123456789"))  # W&B run IDs
    add(pick(words) + "-" + hexs(10) + "-" + alnum(5, "bcdfghjklmnpqrstvwxz2456789"))  # pod names
for _ in range(200):
    add(pick(["0.0001", "3e-4", "1e-5", "0.1", "0.9", "0.999", "1e-8"]))
    add(str(rng.choice([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 42, 1337, 31337])))
    add(pick(["true", "false", "1", "0", "yes", "no", "True", "FALSE", "on", "off"]))
for v in ["INFO", "WARN", "DEBUG", "eth0", "^lo,docker0", "0,1,2,3", "0,1,2,3,4,5,6,7", "PCI_BUS_ID",
          "expandable_segments:True", "max_split_size_mb:512", "NVL", "SYS", "ib0", "mlx5_0:1,mlx5_1:1",
          "garbage_collection_threshold:0.6", "spawn", "fork", "nccl", "gloo", "env://", "tcp://10.0.0.4:23456",
          "fp16", "bf16", "tf32", "O2", "ZeRO-3", "auto", "offline", "disabled", "online", "dryrun"]:
    add(v)
for _ in range(150):
    cfg = {"lr": pick([1e-4, 3e-4, 0.001]), "epochs": rng.randint(1, 100), "batch_size": pick([8, 16, 32]),
           "model": pick(models), "seed": rng.randint(0, 99999)}
    add(json.dumps(cfg))
    add(f"--lr={cfg['lr']} --epochs={cfg['epochs']} --batch-size={cfg['batch_size']} --model {pick(orgs)}/{cfg['model']}")
    add(f"worker-{rng.randint(0,63)}.{pick(words)}{rng.randint(1,9)}.runai-team-{pick('abcdefgh')}.svc.cluster.local")
    add(f"arn:aws:iam::{rng.randint(10**11, 10**12-1)}:role/{pick(['sagemaker-exec', 'ml-training', 'eks-node'])}")
    add(f"arn:aws:s3:::{pick(['ml-datasets', 'research-bucket'])}/{pick(words)}/*")
    add(f"2024-{rng.randint(1,12):02d}-{rng.randint(1,28):02d}T{rng.randint(0,23):02d}:{rng.randint(0,59):02d}:00Z")
    add(f"projects/{pick(['ml-prod', 'research-123456'])}/locations/us-central1/{pick(['models', 'endpoints'])}/{rng.randint(10**17, 10**18)}")
    add(pick(["us-east-1", "eu-west-1", "us-central1", "westeurope", "ap-southeast-2"]))
    add(f"{pick(words)}_{pick(models).lower().replace('.', '_')}_{pick(['bs32', 'lr3e-4', 'seed42'])}_{rng.randint(1,999)}")
    add("ThisIsALongCamelCaseConfigurationValueForTesting" + pick(["Enabled", "Disabled"]))
    add(pick(["python train.py", "torchrun --nproc_per_node=8 train.py", "accelerate launch --config_file cfg.yaml run.py",
              "deepspeed --num_gpus 8 pretrain.py --deepspeed ds_config.json", "bash -c 'pip install -r requirements.txt && python main.py'"]))
    add(f"{pick(['numpy', 'torch', 'transformers', 'datasets', 'accelerate'])}=={rng.randint(1,4)}.{rng.randint(0,40)}.{rng.randint(0,9)}")
    add(f"--extra-index-url https://download.pytorch.org/whl/{pick(['cu118', 'cu121'])}")
    add(f"{pick(words)}-{pick(models).lower()}-{hexs(8)}")

# Values that are random-looking without being credentials: base64 of small JSON
# configs (passed through env to avoid quoting), and long alphanumeric identifiers.
import base64
for _ in range(60):
    cfg = {"lr": pick([1e-4, 3e-4]), "warmup": rng.randint(0, 2000), "sched": pick(["cosine", "linear"])}
    add(base64.b64encode(json.dumps(cfg).encode()).decode())
for _ in range(60):
    add(f"{pick(['job', 'run', 'exp'])}{rng.randint(10**9, 10**10)}{pick(words)}{rng.randint(100, 999)}")
    add(alnum(24, "abcdefghijklmnopqrstuvwxyz0123456789"))  # lower-case IDs (Slurm, Ray, W&B sweeps)

with open(os.path.join(here, "ordinary-values.txt"), "w") as f:
    f.write("# Ordinary env values and arguments of training workloads (scripts/make-credential-corpus.py).\n")
    for v in values:
        f.write(v + "\n")

# Credentials in every detector's shape: made-up, never issued.
fake = []
for _ in range(20):
    fake.append(("aws-access-key-id", pick(["AKIA", "ASIA"]) + alnum(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")))
    fake.append(("github-token", pick(["ghp_", "gho_", "ghs_"]) + alnum(36)))
    fake.append(("github-token", "github_pat_" + alnum(22) + "_" + alnum(59)))
    fake.append(("gitlab-token", "glpat-" + alnum(20, ALNUM + "-_")))
    fake.append(("slack-token", pick(["xoxb-", "xoxp-"]) + f"{rng.randint(10**10, 10**11)}-{rng.randint(10**10, 10**11)}-" + alnum(24)))
    fake.append(("huggingface-token", "hf_" + alnum(34, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")))
    fake.append(("openai-api-key", "sk-proj-" + alnum(48, ALNUM + "-_")))
    fake.append(("private-key", "-----BEGIN " + pick(["RSA ", "EC ", "OPENSSH ", ""]) + "PRIVATE KEY-----\\n" + alnum(64, ALNUM + "+/")))
    fake.append(("jwt", "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJ" + alnum(60, ALNUM + "-_") + "." + alnum(43, ALNUM + "-_")))
    fake.append(("url-password", f"postgres://app:{alnum(16)}@db:5432/train"))
    fake.append(("high-entropy", alnum(40, ALNUM + "+/")))
with open(os.path.join(here, "credentials.txt"), "w") as f:
    f.write("# Made-up values in each detector's shape: DETECTOR<TAB>VALUE (scripts/make-credential-corpus.py).\n")
    for d, v in fake:
        f.write(f"{d}\t{v}\n")
print(len(values), "ordinary values,", len(fake), "credential-shaped values")
