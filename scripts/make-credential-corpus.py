#!/usr/bin/env python3
"""Writes tests/credentials/ordinary-values.txt: env values and command arguments of
the kind GPU training workloads carry, none of them a credential (paths, URLs without
passwords, versions, model names, UUIDs, image digests, git SHAs, run IDs, numbers,
NCCL/CUDA settings, JSON, hostnames, ARNs, timestamps...), and
tests/credentials/credentials.txt: made-up values in every detector's shape. Seeded:
the output is the same on every run. The false-positive rate of the detectors on the
first file is measured by guest/tests/credentials.rs and reported in the README.

Issue 24 adds, from a second seeded generator (so the lines above stay as they were):
what ML jobs carry (model and dataset names, hub revisions, run IDs, checkpoint paths,
git SHAs, image digests, cloud resource names, labelled checksums, SSH public keys),
appended to ordinary-values.txt; the new detectors' shapes, appended to
credentials.txt; and tests/credentials/contexts.tsv, values as jobs place them (an env
var with its name, or a command line), each labelled with its credential family or
`ordinary`:
    FAMILY<TAB>env<TAB>NAME<TAB>VALUE
    FAMILY<TAB>args<TAB>ITEM<TAB>ITEM...
The families are the rows of scripts/detector-bench.py's table."""
import base64, hashlib, json, os, random, uuid

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

def issue24():
    """Issue 24's additions, from their own generator: (ordinary ML values, credentials
    in the new detectors' shapes, values in context)."""
    r = random.Random(20261207)
    def hx(n): return "".join(r.choice("0123456789abcdef") for _ in range(n))
    def an(n, alphabet=ALNUM): return "".join(r.choice(alphabet) for _ in range(n))
    def pk(xs): return r.choice(xs)
    def b64(data): return base64.b64encode(data).decode()
    lower = "abcdefghijklmnopqrstuvwxyz0123456789"
    b64url = ALNUM + "-_"

    # --- what ML jobs carry, none of it a credential
    datasets = ["HuggingFaceFW/fineweb-edu", "allenai/c4", "tatsu-lab/alpaca", "bigcode/the-stack-v2-dedup",
                "wikimedia/wikipedia", "openai/gsm8k", "Open-Orca/OpenOrca", "teknium/OpenHermes-2.5",
                "mozilla-foundation/common_voice_17_0", "laion/laion2B-en", "imagenet-1k", "squad_v2",
                "EleutherAI/pile", "togethercomputer/RedPajama-Data-V2", "databricks/databricks-dolly-15k"]
    sk_names = ["sk-llama-2-13b-chat-hf", "sk-llama-3-8b-instruct-awq-4bit-gemm", "sk-llama3.1-70b-lora-r16",
                "sk-llama-2-7b-finetuned-v2-20240515", "sk-llama-3-70b-instruct-gptq-int4-128g-actorder",
                "sk-learn-pipeline-v3", "sk-mistral-7b-dpo-beta-0.1", "sk-llama-3-8b-sft-lr2e-5-ep3-bs128-seed42"]
    ml = []
    for _ in range(60):
        org, model = pk(orgs), pk(models)
        ml.append(f"{org}/{model}@{hx(40)}")                       # hub id at a revision
        ml.append(f"https://huggingface.co/{org}/{model}/resolve/{hx(40)}/model-0000{r.randint(1,4)}-of-00004.safetensors")
        ml.append(pk(datasets) + pk(["", ":en", "@" + hx(40), "/" + pk(["train", "validation", "sample-10BT"])]))
        ml.append(pk(sk_names) + pk(["", "-" + hx(8), "-ckpt" + str(r.randint(100, 9999))]))
        ml.append(f"{pk(['research', 'ml-team', 'nlp'])}/{pk(words)}-{pk(models).lower()}/runs/{an(8, lower)}")
        ml.append(f"wandb/run-2024{r.randint(1,12):02d}{r.randint(1,28):02d}_{r.randint(0,235959):06d}-{an(8, lower)}")
        ml.append(f"runs:/{hx(32)}/model")                             # MLflow model URI
        ml.append(f"raysubmit_{an(16)}")                               # Ray job submission ID
        ml.append(f"{pk(['s3', 'gs'])}://{pk(['ml-checkpoints', 'team-a-ckpt', 'research-bucket'])}/{pk(words)}/"
                  f"{pk(models).lower()}/global_step{r.randint(1, 200) * 500}/mp_rank_0{r.randint(0,7)}_model_states.pt")
        ml.append(f"/mnt/checkpoints/{pk(words)}/checkpoint-{r.randint(1, 400) * 250}/{pk(['optimizer.pt', 'rng_state_0.pth', 'adapter_model.safetensors', 'trainer_state.json'])}")
        ml.append(f"git+https://github.com/{pk(['huggingface', 'NVIDIA', 'microsoft'])}/{pk(['transformers', 'Megatron-LM', 'DeepSpeed', 'peft'])}@{hx(40)}")
        ml.append(f"ghcr.io/{pk(['research', 'ml-team'])}/{pk(['trainer', 'vllm-serve', 'eval'])}@sha256:{hx(64)}")
        ml.append(f"{pk(['us-docker.pkg.dev', '123456789012.dkr.ecr.us-east-1.amazonaws.com'])}/ml/{pk(['trainer', 'serve'])}:{hx(12)}")
        ml.append(f"arn:aws:sagemaker:{pk(['us-east-1', 'eu-west-1'])}:{r.randint(10**11, 10**12-1)}:training-job/{pk(words)}-2024-{r.randint(1,12):02d}-{r.randint(1,28):02d}-{r.randint(0,23):02d}-{r.randint(0,59):02d}-{r.randint(0,59):02d}-{r.randint(100,999)}")
        ml.append(f"arn:aws:kms:us-east-1:{r.randint(10**11, 10**12-1)}:key/{uuid.UUID(int=r.getrandbits(128), version=4)}")
        ml.append(f"/subscriptions/{uuid.UUID(int=r.getrandbits(128), version=4)}/resourceGroups/rg-{pk(words)}/providers/"
                  f"Microsoft.MachineLearningServices/workspaces/{pk(['ws-research', 'aml-prod'])}/jobs/{pk(words)}_{an(10, lower)}")
        ml.append(f"projects/{pk(['ml-prod', 'research-123456'])}/locations/us-central1/tuningJobs/{r.randint(10**18, 10**19)}")
        ml.append(f"https://{pk(['mlstorage', 'researchdata'])}.blob.core.windows.net/{pk(['datasets', 'checkpoints'])}/{pk(words)}/{pk(models)}")
        ml.append(pk(["subnet-", "sg-", "vpc-", "i-", "fs-", "ami-", "vol-"]) + hx(17))
        ml.append("sha256-" + b64(hashlib.sha256(an(20).encode()).digest()))      # SRI / npm integrity
        ml.append("sha512-" + b64(hashlib.sha512(an(20).encode()).digest()))
        ml.append("SHA256:" + b64(hashlib.sha256(an(20).encode()).digest()).rstrip("="))  # ssh-keygen -l
        ml.append(b64(hashlib.md5(an(20).encode()).digest()))                     # GCS md5Hash
        ml.append(f"{hx(32)}-{r.randint(2, 400)}")                                 # multipart S3 ETag
        ml.append(pk(["ssh-ed25519 ", "ssh-rsa "]) + b64(b"\0\0\0\x0bssh-ed25519\0\0\0 " + bytes(r.getrandbits(8) for _ in range(32)))
                  + pk(["", " researcher@workstation", " ci@runner"]))
        ml.append(pk(["<|reserved_special_token_0|>", "<|endoftext|>", "<|im_start|>", "</s>", "[PAD]", "<|eot_id|>"]))
        ml.append(f"{pk(words)}-{pk(models).lower()}-{r.randint(1, 9)}x{pk(['a100', 'h100', 'l40s'])}-{an(5, lower)}")
        ml.append(f"optuna-study-{pk(words)}-{hx(8)}")
        ml.append(f"dvc://{pk(['remote-s3', 'gcs-cache'])}/files/md5/{hx(2)}/{hx(30)}")
    ml_fake = []
    # --- the new detectors' shapes (made up, never issued)
    def jwt_part(obj): return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    for _ in range(15):
        ml_fake.append(("gitlab-token", pk(["glcbt-", f"glcbt-{hx(2)}_"]) + an(20, b64url)))
        ml_fake.append(("gitlab-token", "GR1348941" + an(20, b64url)))
        ml_fake.append(("gitlab-token", pk(["glrt-", "glft-", "gldt-", "glptt-", "glimt-", "glsoat-"]) + an(r.randint(20, 40), b64url)))
        ml_fake.append(("slack-token", f"https://hooks.slack.com/{pk(['workflows', 'triggers'])}/T{an(10, ALNUM[:26] + '0123456789')}/A{an(10, ALNUM[:26] + '0123456789')}/{r.randint(10**17, 10**18)}/{an(32, ALNUM[26:])}"))
        ml_fake.append(("jwt", jwt_part({"alg": "none", "typ": "JWT"}) + "." + jwt_part({"sub": an(8), "role": "admin", "exp": r.randint(10**9, 2 * 10**9)}) + "."))
        ml_fake.append(("private-key", f"PuTTY-User-Key-File-{pk(['2', '3'])}: ssh-{pk(['rsa', 'ed25519'])}\\nEncryption: none\\nComment: {pk(['researcher', 'imported-openssh-key'])}\\nPublic-Lines: 2\\n{an(64, ALNUM + '+/')}"))
        ml_fake.append(("basic-auth", b64(f"{pk(['admin', 'ci-bot', 'robot$ml', 'svc_train', 'jane.doe'])}:{an(r.randint(6, 16), ALNUM + '!@#%^*')}".encode())))
        ml_fake.append(("connection-string-password", pk([
            f"jdbc:postgresql://db.research.svc:5432/metrics?user=app&password={an(12)}",
            f"jdbc:mysql://mysql-0.mysql:3306/mlflow?user=mlflow&password={an(12)}&useSSL=false",
            f"jdbc:sqlserver://sql.internal:1433;databaseName=features;user=sa;password={an(14)};encrypt=true",
            f"jdbc:oracle:thin:scott/{an(10)}@db.internal:1521/ORCLPDB1",
            f"jdbc:snowflake://acct.snowflakecomputing.com/?user=ml&password={an(16)}&warehouse=WH",
            f"Server=tcp:sql.internal,1433;Database=features;User ID=ml;Password={an(14)};Encrypt=True;",
            f"host=db.research.svc port=5432 dbname=features user=app password={an(12)}"])))
        ml_fake.append(("openai-api-key", pk([f"sk-proj-{an(74, b64url)}T3BlbkFJ{an(74, b64url)}",
                                               f"sk-{an(20)}T3BlbkFJ{an(20)}", f"sk-{hx(32)}",
                                               f"sk-ant-api03-{an(93, b64url)}AA", f"sk-or-v1-{hx(64)}"])))

    def service():
        """Other issuers' tokens, in their documented formats."""
        return pk([
            lambda: "AIza" + an(35, b64url),
            lambda: pk(["sk_live_", "rk_live_"]) + an(r.randint(24, 99)),
            lambda: "npm_" + an(36),
            lambda: "pypi-AgEIcHlwaS5vcmc" + an(r.randint(60, 120), b64url),
            lambda: "dapi" + hx(32),
            lambda: "r8_" + an(37),
            lambda: "gsk_" + an(52),
            lambda: "SG." + an(22, b64url) + "." + an(43, b64url),
            lambda: "SK" + hx(32),
            lambda: f"{r.randint(10**8, 10**10 - 1)}:AA{an(33, b64url)}",
            lambda: "hvs." + an(r.randint(24, 90), b64url),
            lambda: "dp.st." + pk(["prd.", "dev."]) + an(43),
            lambda: "shpat_" + hx(32),
            lambda: "dop_v1_" + hx(64),
            lambda: "glsa_" + an(32) + "_" + hx(8),
            lambda: f"{hx(32)}-us{r.randint(1, 21)}",
            lambda: f"https://discord.com/api/webhooks/{r.randint(10**17, 10**19)}/{an(68, b64url)}",
        ])()
    for _ in range(20):
        ml_fake.append(("service-token", service()))

    # --- values in their context
    ctx = []
    def env(family, name, value): ctx.append((family, "env", name, value))
    def args(family, *items): ctx.append((family, "args", *items))
    neutral = ["EXTRA_CONFIG", "ARG_1", "SETTINGS", "INIT_VALUE", "OPTS", "PARAM"]
    def place(family, value, names, arg_flags):
        """An env var under a name the family goes by, or one that says nothing, or a
        command-line flag's value."""
        roll = r.random()
        if roll < 0.6:
            env(family, pk(names), value)
        elif roll < 0.8:
            env(family, pk(neutral), value)
        else:
            args(family, "python", "train.py", pk(arg_flags), value)
    for _ in range(40):
        key = hx(40)
        pk([lambda: env("wandb-api-key", "WANDB_API_KEY", key),
            lambda: env("wandb-api-key", "WANDB_API_KEY", "local-" + hx(40)),
            lambda: args("wandb-api-key", "wandb", "login", key),
            lambda: args("wandb-api-key", "wandb", "login", "--relogin", key),
            lambda: args("wandb-api-key", "bash", "-c", f"wandb login {key} && python train.py --config cfg.yaml"),
            lambda: args("wandb-api-key", "sh", "-c", f"WANDB_API_KEY={key} torchrun --nproc_per_node=8 train.py"),
            lambda: args("wandb-api-key", "python", "train.py", pk(["--wandb-api-key", "--api-key", "--wandb_key"]), key),
            lambda: args("wandb-api-key", "python", "train.py", f"--api-key={key}"),
            lambda: args("wandb-api-key", "python", "-c", f"import wandb; wandb.login(key='{key}'); import train"),
            ])()
    families = [
        ("aws-access-key-id", lambda: pk(["AKIA", "ASIA"]) + an(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
         ["AWS_ACCESS_KEY_ID", "S3_ACCESS_KEY"], ["--aws-access-key-id", "--s3-key"]),
        ("github-token", lambda: pk(["ghp_", "gho_", "ghs_"]) + an(36), ["GITHUB_TOKEN", "GH_TOKEN", "GIT_AUTH"], ["--github-token", "--token"]),
        ("gitlab-token", lambda: "glpat-" + an(20, b64url), ["GITLAB_TOKEN", "CI_TOKEN"], ["--gitlab-token", "--token"]),
        ("gitlab-ci-token", lambda: pk([lambda: "glcbt-" + an(20, b64url), lambda: f"glcbt-{hx(2)}_" + an(20, b64url),
                                        lambda: "GR1348941" + an(20, b64url), lambda: "glrt-" + an(20, b64url)])(),
         ["CI_JOB_TOKEN", "RUNNER_TOKEN", "REGISTRATION_TOKEN"], ["--token", "--registration-token"]),
        ("slack-token", lambda: pk(["xoxb-", "xoxp-"]) + f"{r.randint(10**10, 10**11)}-{r.randint(10**10, 10**11)}-" + an(24),
         ["SLACK_BOT_TOKEN", "SLACK_TOKEN"], ["--slack-token"]),
        ("slack-webhook", lambda: f"https://hooks.slack.com/services/T{an(8, ALNUM[:26] + '0123456789')}/B{an(10, ALNUM[:26] + '0123456789')}/{an(24)}",
         ["SLACK_WEBHOOK_URL", "NOTIFY_URL"], ["--slack-webhook", "--notify"]),
        ("slack-workflow-webhook", lambda: f"https://hooks.slack.com/{pk(['workflows', 'triggers'])}/T{an(10, ALNUM[:26] + '0123456789')}/A{an(10, ALNUM[:26] + '0123456789')}/{r.randint(10**17, 10**18)}/{an(32, ALNUM[26:])}",
         ["SLACK_WORKFLOW_URL", "NOTIFY_URL"], ["--notify"]),
        ("huggingface-token", lambda: "hf_" + an(34, ALNUM[:52]), ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"], ["--hf-token", "--token"]),
        ("openai-api-key", lambda: pk([f"sk-proj-{an(74, b64url)}T3BlbkFJ{an(74, b64url)}", f"sk-{an(20)}T3BlbkFJ{an(20)}",
                                       f"sk-ant-api03-{an(93, b64url)}AA", f"sk-{hx(32)}"]),
         ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "LLM_KEY"], ["--openai-api-key", "--api-key"]),
        ("private-key", lambda: f"-----BEGIN {pk(['RSA ', 'EC ', 'OPENSSH ', ''])}PRIVATE KEY-----\\n{an(64, ALNUM + '+/')}\\n-----END PRIVATE KEY-----",
         ["SSH_PRIVATE_KEY", "TLS_KEY", "DEPLOY_KEY"], ["--ssh-key"]),
        ("putty-private-key", lambda: f"PuTTY-User-Key-File-{pk(['2', '3'])}: ssh-{pk(['rsa', 'ed25519'])}\\nEncryption: none\\nComment: researcher\\nPublic-Lines: 2\\n{an(64, ALNUM + '+/')}",
         ["SSH_KEY", "PPK"], ["--ssh-key"]),
        ("jwt", lambda: jwt_part({"alg": "RS256", "typ": "JWT"}) + "." + jwt_part({"sub": an(8), "exp": r.randint(10**9, 2 * 10**9)}) + "." + an(43, b64url),
         ["ACCESS_TOKEN", "AUTH_HEADER", "SERVICE_JWT"], ["--access-token", "--jwt"]),
        ("unsigned-jwt", lambda: jwt_part({"alg": "none", "typ": "JWT"}) + "." + jwt_part({"sub": an(8), "role": "admin"}) + pk([".", ""]),
         ["ACCESS_TOKEN", "SESSION", "ID_TOKEN"], ["--access-token", "--jwt"]),
        ("url-password", lambda: f"{pk(['postgres', 'mysql', 'redis', 'mongodb', 'amqp'])}://{pk(['app', 'ml', 'admin'])}:{an(16)}@{pk(['db', 'broker-0.broker', 'redis-master'])}:{r.randint(1000, 9999)}/{pk(words)}",
         ["DATABASE_URL", "BROKER_URL", "MLFLOW_TRACKING_URI"], ["--db-url", "--broker"]),
        ("jdbc-password", lambda: pk([
            f"jdbc:postgresql://db.research.svc:5432/metrics?user=app&password={an(12)}",
            f"jdbc:mysql://mysql-0.mysql:3306/mlflow?user=mlflow&password={an(12)}&useSSL=false",
            f"jdbc:sqlserver://sql.internal:1433;databaseName=features;user=sa;password={an(14)};encrypt=true",
            f"jdbc:oracle:thin:scott/{an(10)}@db.internal:1521/ORCLPDB1",
            f"jdbc:snowflake://acct.snowflakecomputing.com/?user=ml&password={an(16)}&warehouse=WH"]),
         ["JDBC_URL", "SPRING_DATASOURCE_URL", "FEATURE_STORE_URL"], ["--jdbc-url", "--url"]),
        ("basic-auth", lambda: pk([
            lambda: b64(f"{pk(['admin', 'ci-bot', 'svc_train', 'jane.doe'])}:{an(r.randint(6, 16))}".encode()),
            lambda: '{"auths":{"registry.internal":{"auth":"' + b64(f"robot$ml:{an(r.randint(8, 20))}".encode()) + '"}}}',
            lambda: "Basic " + b64(f"{pk(['admin', 'ml'])}:{an(r.randint(6, 12))}".encode())])(),
         ["REGISTRY_AUTH", "DOCKER_AUTH_CONFIG", "AUTHORIZATION"], ["--auth", "--header"]),
        ("service-token", service, ["GOOGLE_API_KEY", "STRIPE_KEY", "NPM_TOKEN", "PYPI_TOKEN", "DATABRICKS_TOKEN",
                                    "REPLICATE_API_TOKEN", "GROQ_API_KEY", "SENDGRID_API_KEY", "TELEGRAM_BOT_TOKEN"],
         ["--api-key", "--token"]),
        ("random-secret", lambda: an(40, ALNUM + "+/"), ["SECRET_KEY", "ENCRYPTION_KEY", "SESSION_SECRET"], ["--secret", "--encryption-key"]),
        ("named-secret", lambda: pk([an(r.randint(16, 28)), hx(32), an(25)]),
         ["API_SECRET", "DD_API_KEY", "COMET_API_KEY", "CLEARML_API_SECRET_KEY", "MLFLOW_TRACKING_TOKEN", "DB_PASSWORD"],
         ["--api-key", "--token", "--password"]),
    ]
    for family, make, names, flags in families:
        for _ in range(40):
            if family == "named-secret":
                # Found by its name alone: never under a name that says nothing.
                if r.random() < 0.75:
                    env(family, pk(names), make())
                else:
                    args(family, "python", "train.py", pk(flags), make())
            else:
                place(family, make(), names, flags)

    # --- ordinary values in their context: named as what they are
    for _ in range(40):
        sha = hx(40)
        pk([lambda: env("ordinary", pk(["GIT_SHA", "GIT_COMMIT", "COMMIT_SHA", "SOURCE_REVISION", "BUILD_COMMIT"]), sha),
            lambda: env("ordinary", pk(["HF_REVISION", "MODEL_REVISION", "DATASET_REVISION"]), sha),
            lambda: args("ordinary", "python", "train.py", pk(["--revision", "--commit", "--model-revision", "--code-version"]), sha),
            lambda: args("ordinary", "bash", "-c", f"git fetch origin && git checkout {sha} && python train.py"),
            lambda: args("ordinary", "huggingface-cli", "download", f"{pk(orgs)}/{pk(models)}", "--revision", sha),
            lambda: args("ordinary", "python", "train.py", f"--revision={sha}", "--api-key-file", "/var/run/secrets/wandb/key"),
            ])()
        env("ordinary", pk(["WANDB_RUN_ID", "WANDB_RESUME_ID", "RUN_ID"]), an(8, lower))
        env("ordinary", pk(["MLFLOW_RUN_ID", "COMET_EXPERIMENT_KEY", "EXPERIMENT_ID", "PARENT_RUN_ID"]), hx(32))
        env("ordinary", pk(["S3_VERSION_ID", "OBJECT_VERSION_ID"]), an(32, ALNUM + "._"))
        env("ordinary", pk(["CHECKSUM_SHA256", "MODEL_SHA256", "WEIGHTS_DIGEST"]), b64(hashlib.sha256(an(20).encode()).digest()))
        env("ordinary", pk(["IMAGE_DIGEST", "BASE_IMAGE"]), pk(["sha256:" + hx(64), f"nvcr.io/nvidia/pytorch@sha256:{hx(64)}"]))
        env("ordinary", pk(["PAD_TOKEN", "EOS_TOKEN", "BOS_TOKEN", "SPECIAL_TOKENS"]), pk(["<|reserved_special_token_0|>", "<|endoftext|>", "</s>", "<|eot_id|>"]))
        env("ordinary", pk(["HF_TOKEN_PATH", "WANDB_API_KEY_FILE", "SECRET_NAME", "TOKEN_SECRET_NAME"]),
            pk(["/var/run/secrets/hf/token", "/root/.cache/huggingface/token", "hf-token", "wandb-api-key-v2"]))
        env("ordinary", pk(["WANDB_ENTITY", "WANDB_PROJECT", "WANDB_RUN_GROUP", "WANDB_NAME"]),
            f"{pk(words)}-{pk(models).lower()}-{an(6, lower)}")
        env("ordinary", pk(["MODEL_NAME", "BASE_MODEL", "ADAPTER_NAME"]), pk(sk_names) + pk(["", "-" + hx(8)]))
        env("ordinary", pk(["AUTH_PROVIDER", "TOKENIZER", "TOKENIZER_NAME", "MAX_NEW_TOKENS", "AUTH_TYPE"]),
            pk(["GoogleOAuth2Provider", f"{pk(orgs)}/{pk(models)}", "4096", "Bearer", "hf-internal-testing/llama-tokenizer"]))
        env("ordinary", pk(["CACHE_KEY", "PARTITION_KEY", "S3_KEY", "DATA_KEY"]),
            pk([hx(40), hx(64), f"datasets/{pk(words)}/{hx(16)}.parquet", f"shard-{r.randint(0, 1023):05d}"]))
        args("ordinary", "python", "train.py", "--run-id", an(8, lower), "--resume-from", f"s3://ml-checkpoints/{pk(words)}/checkpoint-{r.randint(1, 99) * 1000}")
        args("ordinary", "accelerate", "launch", "--config_file", "fsdp.yaml", "train.py", "--model_name_or_path", f"{pk(orgs)}/{pk(models)}",
             "--dataset", pk(datasets), "--output_dir", f"/mnt/ckpt/{an(8, lower)}")
        args("ordinary", "sh", "-c", f"pip install 'git+https://github.com/huggingface/peft@{hx(40)}' && python sft.py --seed {r.randint(0, 9999)}")
        args("ordinary", "python", "eval.py", "--checksum", "sha256-" + b64(hashlib.sha256(an(20).encode()).digest()), "--tokenizer", pk(models))
    return ml, ml_fake, ctx


# Values that are random-looking without being credentials: base64 of small JSON
# configs (passed through env to avoid quoting), and long alphanumeric identifiers.
import base64
for _ in range(60):
    cfg = {"lr": pick([1e-4, 3e-4]), "warmup": rng.randint(0, 2000), "sched": pick(["cosine", "linear"])}
    add(base64.b64encode(json.dumps(cfg).encode()).decode())
for _ in range(60):
    add(f"{pick(['job', 'run', 'exp'])}{rng.randint(10**9, 10**10)}{pick(words)}{rng.randint(100, 999)}")
    add(alnum(24, "abcdefghijklmnopqrstuvwxyz0123456789"))  # lower-case IDs (Slurm, Ray, W&B sweeps)

def reviewed():
    """What an independent corpus (issue 24's reviewers') found missed or flagged, in
    made-up samples of the same shapes, from a third seeded generator."""
    r = random.Random(20261208)
    def hx(n): return "".join(r.choice("0123456789abcdef") for _ in range(n))
    def an(n, alphabet=ALNUM): return "".join(r.choice(alphabet) for _ in range(n))
    def pk(xs): return r.choice(xs)
    def b64(text): return base64.b64encode(text.encode()).decode()
    def uid(): return str(uuid.UUID(int=r.getrandbits(128), version=4))
    b64url = ALNUM + "-_"
    lower = "abcdefghijklmnopqrstuvwxyz0123456789"
    ml, fake, ctx = [], [], []
    for _ in range(6):
        fake.append(("service-token", pk([
            lambda: f"{b64(str(r.randint(10**16, 10**19))).rstrip('=')}.{an(6, b64url)}.{an(pk([27, 38]), b64url)}",  # Discord bot
            lambda: f"{hx(32)}-{hx(8)}-{hx(8)}",  # Mailgun
            lambda: "NRAA-" + hx(27),
            lambda: "NRSP-" + pk(["us", "eu"]) + "01" + hx(31),
            lambda: hx(36) + "NRAL",
            lambda: pk(["eu", "us"]) + "01xx" + hx(30) + "NRAL",
            lambda: pk(["px-api-", "px-dep-"]) + uid(),
            lambda: f"access_token${pk(['production', 'sandbox'])}${an(16, lower)}${hx(32)}",  # Braintree
            lambda: f"https://api.softlayer.com/soap/{pk(['v3', 'v3.1'])}/{an(64, lower)}",
            lambda: "pypi-AgENdGVzdC5weXBpLm9yZw" + an(r.randint(70, 120), b64url),
        ])()))
        fake.append(("huggingface-token", "api_org_" + an(34, ALNUM[:52])))
        fake.append(("connection-string-password", pk([
            f"dbname=x user=app password='{an(12)}!' host=db",
            f"Driver={{PostgreSQL Unicode}};Server=db;Uid=app;Pwd={{{an(12)}}};"])))
    for _ in range(10):
        ctx.append(("service-token", "env", pk(["MAILGUN_API_KEY", "NEW_RELIC_LICENSE_KEY", "DISCORD_BOT_TOKEN", "CONFIG"]),
                    pk([f"{hx(32)}-{hx(8)}-{hx(8)}", hx(36) + "NRAL",
                        f"{b64(str(r.randint(10**16, 10**19))).rstrip('=')}.{an(6, b64url)}.{an(27, b64url)}"])))
    for _ in range(4):
        ctx.append(("wandb-api-key", "env", "NETRC", f"machine api.wandb.ai login user password {hx(40)}"))
        ctx.append(("jdbc-password", "args", "python", "train.py", "--dsn", f"dbname=x user=app password='{an(14)}' host=db"))
    # Look-alikes: a greeting, placeholders, what issuers publish, public PEM blocks.
    for _ in range(10):
        ml.append(f"xoxo-{pk(['baseline', 'ranker', 'staging'])}-{pk(['sft', 'sweep', 'team'])}")
        ml.append(f"pk_live_{an(24)}")
        ml.append(f"{r.randint(10**11, 10**12)}-{an(32, lower)}.apps.googleusercontent.com")
        ml.append(f"-----BEGIN {pk(['CERTIFICATE', 'PUBLIC KEY'])}-----\\n{an(64, ALNUM + '+/')}")
    ml.extend(["ghp_" + "X" * 36, "hf_" + "x" * 34])
    # The second round: Telegram tokens without `AA`, Azure SAS signatures; IPFS
    # content IDs and identifiers in a URL's query are not credentials.
    base58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    for _ in range(5):
        body = an(33, b64url)
        fake.append(("service-token", f"{r.randint(10**7, 10**10 - 1)}:{pk('ABCDEFGHIJKLMNOPQRSTUVWXYZ')}{body}{r.randint(0, 9)}"))
        sig = b64(an(30)).replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
        fake.append(("service-token", f"https://acct.blob.core.windows.net/c?sv=2022-11-02&sp=r&se=2026-01-01&sig={sig}"))
        ml.append("Qm" + an(44, base58))
        ml.append("bafybei" + an(52, "abcdefghijklmnopqrstuvwxyz234567"))
        ml.append(f"https://{pk(['ml', 'data'])}.s3.amazonaws.com/model.tar.gz?versionId={an(32, ALNUM + '._')}")
    return ml, fake, ctx


def hostile():
    """What a hostile pass found after the independent corpus, from a fourth seeded
    generator: model IDs in mixed case (org/Model-34B-Instruct-AWQ, run names), long
    base64 secrets (a keystore) and W&B keys in Python's brackets and calls."""
    r = random.Random(20261209)
    def hx(n): return "".join(r.choice("0123456789abcdef") for _ in range(n))
    def pk(xs): return r.choice(xs)
    orgs = ["TheBloke", "bartowski", "NousResearch", "MaziyarPanahi", "QuantFactory", "LoneStriker",
            "TechxGenus", "casperhansen", "RedHatAI", "HuggingFaceH4", "mlx-community", "unsloth"]
    models = ["CodeLlama-34B-Instruct", "Nous-Hermes-2-Mixtral-8x7B-DPO", "Mistral-Nemo-Instruct-2407",
              "WizardCoder-Python-34B-V1", "Phind-CodeLlama-34B-v2", "DeepSeek-Coder-V2-Lite-Instruct",
              "Qwen2-VL-72B-Instruct", "Llama-3-Nemotron-70B-Instruct-HF", "CapybaraHermes-2-Mistral-7B",
              "SOLAR-10B-Instruct-v1", "OpenHermes-2-Mistral-7B", "Starling-LM-7B-beta"]
    quant = ["", "-GPTQ", "-AWQ", "-GGUF", "-exl2", "-4bit", "-FP8", "-GPTQ-Int4", "-bnb-4bit"]
    ml, fake, ctx = [], [], []
    for _ in range(60):
        ml.append(f"{pk(orgs)}/{pk(models)}{pk(quant)}")
    for _ in range(10):
        ml.append(f"EXPERIMENT_{pk(['Llama3', 'Mistral', 'Qwen2'])}_{pk(['8B', '70B', '7B'])}_LoRA_r{pk([16, 32, 64])}"
                  f"_alpha{pk([32, 64, 128])}_lr{pk(['1e4', '2e4', '5e5'])}_bs{pk([16, 32, 64])}")
    for n in (2048, 4096, 16384):
        fake.append(("high-entropy", base64.b64encode(bytes(r.getrandbits(8) for _ in range(n))).decode()))
    for _ in range(4):
        key = hx(40)
        ctx.append(("wandb-api-key", "args", "python", "-c", f"import wandb; wandb.login('{key}')"))
        ctx.append(("wandb-api-key", "args", "python", "-c", f"import os; os.environ['WANDB_API_KEY'] = '{key}'"))
    return ml, fake, ctx


ml_values, ml_fake, contexts = issue24()
for mine, theirs in zip((ml_values, ml_fake, contexts), reviewed()):
    mine.extend(theirs)
for mine, theirs in zip((ml_values, ml_fake, contexts), hostile()):
    mine.extend(theirs)
with open(os.path.join(here, "ordinary-values.txt"), "w") as f:
    f.write("# Ordinary env values and arguments of training workloads (scripts/make-credential-corpus.py).\n")
    for v in values + ml_values:
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
    for d, v in fake + ml_fake:
        f.write(f"{d}\t{v}\n")
with open(os.path.join(here, "contexts.tsv"), "w") as f:
    f.write("# Values in their context (scripts/make-credential-corpus.py; made up, never issued):\n")
    f.write("# FAMILY<TAB>env<TAB>NAME<TAB>VALUE or FAMILY<TAB>args<TAB>ITEM<TAB>ITEM...\n")
    for family, form, *fields in contexts:
        assert all("\t" not in x and "\n" not in x for x in fields), fields
        f.write("\t".join([family, form, *fields]) + "\n")
print(len(values) + len(ml_values), "ordinary values,", len(fake) + len(ml_fake),
      "credential-shaped values,", len(contexts), "values in context")
