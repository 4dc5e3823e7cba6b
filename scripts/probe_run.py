#!/usr/bin/env python3
"""Runs one probe of scripts/probes.sh: the command with a 20 s deadline and a 3 GiB
resident-memory cap (polled; the plugin's pooling allocator reserves far more address
space than it uses, so `ulimit -v` cannot be the cap), and prints a Markdown table row:
probe, exit code, first line of output (stderr, else stdout; control characters shown
as \\xNN; 100 characters), wall time, peak RSS, and LEAK when the secret marker shows."""
import os, signal, subprocess, sys, time

name, stdin_path, marker, *cmd = sys.argv[1:]
LIMIT_S, LIMIT_KB = 20.0, 3 << 20
out_path, err_path = "probe.out", "probe.err"
with open(out_path, "wb") as out, open(err_path, "wb") as err, open(stdin_path, "rb") as inp:
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdin=inp, stdout=out, stderr=err, start_new_session=True)
    killed, peak = "", 0
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            peak = max(peak, usage.ru_maxrss)
            break
        try:
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        elapsed = time.monotonic() - start
        if elapsed > LIMIT_S or peak > LIMIT_KB:
            killed = f"(killed: {'over 20 s' if elapsed > LIMIT_S else 'over 3 GiB'}) "
            os.killpg(p.pid, signal.SIGKILL)
        time.sleep(0.02)
    elapsed = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
data_err = open(err_path, "rb").read(4096)
data_out = open(out_path, "rb").read(4096)
text = (data_err or data_out).decode("utf-8", "replace").split("\n")[0]
text = "".join(c if c.isprintable() else "\\x%02x" % ord(c) for c in text)[:100]
text = text.replace("|", "\\|")
leak = ""
if marker and any(marker.encode() in open(p, "rb").read() for p in (out_path, err_path)):
    leak = " **LEAK**"
print(f"| {name} | {code} | {killed}{text}{leak} | {elapsed:.1f} s | {peak // 1024} MB |")
