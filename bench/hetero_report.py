"""Tables of bench/hetero.sh: <out>.csv and <out>.md from a run's files.

    /usr/bin/python3 bench/hetero_report.py RUN_DIR OUT_PREFIX

RUN_DIR holds what bench/hetero.sh collected: meta.txt (key=value lines),
the bench_*.csv tables of the gnnjit session, explain_<model>.txt and
torch.csv (bench/hetero_torch.py).  Prints the Markdown too.
"""

import csv
import os
import re
import statistics
import sys

MODELS = {"het_sage": "to_hetero SAGE", "het_hgt": "HGT"}
VARIANTS = {"jit": "gnnjit JIT", "portable": "gnnjit portable"}


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_meta(path):
    meta = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    return meta


def fmt_ms(ms):
    if ms is None:
        return "–"
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


def fmt_ratio(r):
    if r is None:
        return "–"
    faster = f"{1 / r:.1f}× faster" if r < 1 else f"{r:.1f}× slower"
    return f"{r:.2f} ({faster})"


def fmt_diff(d):
    return "–" if d is None else f"{d:.2g}"


def explain_values(path):
    """Peak Memory (kB), Rows Read and Layer Times of an EXPLAIN file."""
    out = {}
    if not os.path.exists(path):
        return out
    text = open(path, encoding="utf-8").read()
    for key, pat in (("peak_kb", r"Peak Memory: (\d+) kB"),
                     ("rows_read", r"Rows Read: (\d+)"),
                     ("layer_times", r"Layer Times: (.*)"),
                     ("execution_ms", r"Execution Time: ([\d.]+) ms")):
        m = re.search(pat, text)
        if m:
            out[key] = m.group(1).strip()
    return out


def main():
    run, prefix = sys.argv[1], sys.argv[2]
    meta = read_meta(os.path.join(run, "meta.txt"))
    graph = read_csv(os.path.join(run, "bench_graph.csv"))
    runs = read_csv(os.path.join(run, "bench_runs.csv"))
    layers = read_csv(os.path.join(run, "bench_layers.csv"))
    compile_ = {r["model"]: r for r in
                read_csv(os.path.join(run, "bench_compile.csv"))}
    memory = {r["model"]: r for r in
              read_csv(os.path.join(run, "bench_memory.csv"))}
    torch_rows = read_csv(os.path.join(run, "torch.csv"))
    small = meta["small"] == "1"
    node_type = meta["node_type"]

    def torch_value(kind, model, name):
        for r in torch_rows:
            if (r["kind"], r["model"], r["name"]) == (kind, model, name):
                return r["value"]
        return None

    def tf(kind, model, name):
        v = torch_value(kind, model, name)
        return None if v is None else float(v)

    counts = {}
    for r in graph:
        counts[(r["graph"], r["name"])] = float(r["value"])

    def graph_size(g):
        n = sum(v for (gg, name), v in counts.items()
                if gg == g and name in ("user", "item"))
        e = sum(v for (gg, name), v in counts.items()
                if gg == g and "__" in name)
        return int(n), int(e)

    n_main, e_main = graph_size("het")
    if ("het_check", "user") in counts:
        n_check, e_check = graph_size("het_check")
    else:
        n_check, e_check = n_main, e_main
    size = f"{n_main}/{e_main}"

    med = {}
    per_run = {}
    for r in runs:
        key = (r["model"], r["variant"])
        per_run.setdefault(key, []).append((int(r["run"]),
                                            float(r["e2e_ms"]),
                                            float(r["compute_ms"])))
    for key, vals in per_run.items():
        vals.sort()
        med[key] = (statistics.median(v[1] for v in vals),
                    statistics.median(v[2] for v in vals))

    # ---- CSV ----
    header = ["model", "layers", "variant", "graph_nodes_edges", "node_type",
              "end_to_end_ms", "compute_ms", "compile_ms",
              "jit_over_portable_compute", "jit_over_portable_end_to_end",
              "jit_over_pytorch_compute", "rel_diff_vs_reference_f64_on_check_graph",
              "rel_diff_vs_jit", "peak_memory_kb", "note", "runs", "threads",
              "nproc", "cpu"]
    rows = []
    for m in MODELS:
        j, p = med.get((m, "jit")), med.get((m, "portable"))
        if j is None or p is None:
            continue
        t_ms = tf("time", m, "pytorch_ms")
        ex = explain_values(os.path.join(run, f"explain_{m}.txt"))
        common = dict(model=m, layers=2, graph_nodes_edges=size,
                      node_type=node_type, runs=meta["runs"],
                      threads=meta["threads"], nproc=meta["nproc"],
                      cpu=meta["cpu"])
        rows.append(dict(common, variant="gnnjit JIT", end_to_end_ms=j[0],
                         compute_ms=j[1],
                         compile_ms=compile_[m]["compile_ms"],
                         jit_over_portable_compute=j[1] / p[1],
                         jit_over_portable_end_to_end=j[0] / p[0],
                         jit_over_pytorch_compute=(j[1] / t_ms
                                                   if t_ms else None),
                         rel_diff_vs_reference_f64_on_check_graph=tf(
                             "diff", m, "jit_vs_reference"),
                         peak_memory_kb=ex.get("peak_kb"),
                         note=f"compiled to {compile_[m]['functions']} "
                         "functions"))
        rows.append(dict(common, variant="gnnjit portable",
                         end_to_end_ms=p[0], compute_ms=p[1],
                         rel_diff_vs_reference_f64_on_check_graph=tf(
                             "diff", m, "portable_vs_reference"),
                         rel_diff_vs_jit=tf("diff", m, "jit_vs_portable")))
        if t_ms:
            rows.append(dict(common, variant="PyTorch", compute_ms=t_ms,
                             rel_diff_vs_jit=tf("info", m, "jit_vs_pytorch"),
                             note="tools/hetero_ref.py float32, forward "
                             f"pass only, graph in memory, "
                             f"{meta['threads']} thread(s)"))
        else:
            est = tf("skipped", m, "pytorch")
            rows.append(dict(common, variant="PyTorch",
                             note=f"not run: estimated peak {est:.1f} GB > "
                             f"{meta['torch_max_gb']} GB"))
    with open(prefix + ".csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, header, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)

    # ---- Markdown ----
    minutes = int(meta["seconds"]) / 60
    build = meta["build_start"]
    if meta.get("build_end") and meta["build_end"] != build:
        build += (f" at the start, {meta['build_end']} at the end (reinstalled"
                  " during the run; every gnnjit call ran in one session "
                  "that had loaded the first)")
    md = []
    md.append(
        f"Measured by `{meta['command']}` on {meta['cpu']} ({meta['nproc']} "
        f"CPUs, {meta['mem_gb']} GB RAM); {meta['postgres']}, gnnjit "
        f"{meta['gnnjit']}, installed build {build}; {meta['date']}. Load "
        f"average {meta['load_start']} at start, {meta['load_end']} at end "
        "(shared machine: other work may have run alongside). The whole run "
        f"took {minutes:.1f} minutes. One process per inference "
        "(`max_parallel_workers_per_gather = 0`); JIT runs with "
        "`gnnjit.jit_above_cost = 0`, compiled once per model before "
        f"timing; medians of {meta['runs']} runs, JIT and portable "
        "alternating.")
    md.append("")
    user = counts.get(("het", "user"), 0)
    item = counts.get(("het", "item"), 0)
    md.append(
        f"Graph `het`: one R-MAT graph from `gnn_generate_graph` "
        f"({meta['nodes']} nodes, {meta['rmat_edges']} edges, 128 features, "
        "seed 1) split by type in SQL: a node is a user when the low 16 "
        "bits of `hashint8(id)` are below 32768, else an item; each edge "
        "keeps its endpoints' types (item → user edges turned around into "
        "clicks), and `item__rev_clicks__user` reads the clicks table with "
        "src and dst swapped. "
        f"{int(user)} users, {int(item)} items, 128 features each; "
        + ", ".join(f"{name} {int(counts[('het', name)])}"
                    for name in ("user__follows__user", "user__clicks__item",
                                 "item__rev_clicks__user",
                                 "item__similar__item")
                    if ("het", name) in counts)
        + f" edges ({e_main} in all). Built in "
        f"{counts.get(('het', 'build'), 0) / 1000:.1f} s. Outputs: the "
        f"{node_type} rows (`gnn_infer(model, 'het', '{node_type}')`).")
    md.append("")
    md.append(
        "Models (`bench/hetero_models.py`, PyG parameter names, seeded "
        "random weights): **to_hetero SAGE** = `to_hetero([SAGEConv(-1, "
        "128), ReLU, SAGEConv(128, 128)], aggr=\"sum\")`, a SAGEConv per "
        "edge type and layer; **HGT** = `HGTConv(128, 128, heads=4), ReLU, "
        "HGTConv(128, 128, heads=4)`.")
    md.append("")
    md.append("#### Times")
    md.append("")
    md.append("| model | variant | end-to-end | compute (layers) | "
              "JIT / portable, compute | JIT / portable, end-to-end | "
              "JIT / PyTorch, compute | compile | peak memory |")
    md.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        name = MODELS[r["model"]]
        peak = r.get("peak_memory_kb")
        peak = f"{int(peak) / 1024 / 1024:.2f} GB" if peak else ""
        if r["variant"] == "PyTorch":
            md.append(f"| {name} | PyTorch (hetero_ref, float32) | – | "
                      + (fmt_ms(r["compute_ms"]) if r.get("compute_ms")
                         else "not run") + " | | | | | |")
            continue
        comp = r.get("compile_ms")
        md.append(
            f"| {name} | {r['variant']} | {fmt_ms(r['end_to_end_ms'])} | "
            f"{fmt_ms(r['compute_ms'])} | "
            f"{fmt_ratio(r.get('jit_over_portable_compute'))} | "
            f"{fmt_ratio(r.get('jit_over_portable_end_to_end'))} | "
            f"{fmt_ratio(r.get('jit_over_pytorch_compute'))} | "
            f"{fmt_ms(float(comp)) if comp else ''} | {peak} |")
    md.append("")
    md.append(
        "End-to-end = `SELECT sum(embedding[1]) FROM gnn_infer(model, 'het', "
        f"'{node_type}')`, the whole query: reading the tables (six scans: "
        "two node tables, four edge types, the clicks table twice), building "
        "the typed graph, the layers, and building every output row with its "
        "array. Compute = the layers alone, the sum of "
        "`gnn_last_inference().ms` (EXPLAIN ANALYZE's Layer Times). Ratios "
        "are JIT time / other time: below 1 the JIT is faster. Compile = the "
        "JIT's generate + emit time for the model (`gnn_jit_stats()`), once "
        "per session. Peak memory = EXPLAIN ANALYZE's Peak Memory (JIT run).")
    md.append("")
    md.append("Every timed run, end-to-end / compute:")
    md.append("")
    for m in MODELS:
        for v in VARIANTS:
            vals = per_run.get((m, v))
            if vals:
                md.append(f"- {MODELS[m]}, {VARIANTS[v]}: " + ", ".join(
                    f"{fmt_ms(e)} / {fmt_ms(c)}" for _, e, c in vals))
    md.append("")
    md.append("#### Per layer (median of the timed runs)")
    md.append("")
    md.append("| model | layer | JIT | portable | JIT / portable |")
    md.append("| --- | --- | ---: | ---: | ---: |")
    by_layer = {}
    for r in layers:
        by_layer.setdefault((r["model"], int(r["layer"]), r["type"]),
                            {}).setdefault(r["variant"], []).append(
                                float(r["ms"]))
    for (m, layer, kind), v in sorted(by_layer.items(),
                                      key=lambda kv: (list(MODELS).index(
                                          kv[0][0]), kv[0][1])):
        j = statistics.median(v.get("jit", [0]))
        p = statistics.median(v.get("portable", [0]))
        ratio = f"{j / p:.2f}" if p > 0 else "–"
        md.append(f"| {MODELS[m]} | {layer} {kind} | {fmt_ms(j)} | "
                  f"{fmt_ms(p)} | {ratio} |")
    md.append("")
    md.append("#### Exactness")
    md.append("")
    md.append("| model | pair | graph | nodes compared | max relative "
              "difference | limit |")
    md.append("| --- | --- | --- | ---: | ---: | ---: |")
    n_out = int(counts.get(("het", node_type), 0))
    n_out_check = int(counts.get(("het_check", node_type),
                                 counts.get(("het", node_type), 0)))
    for m in MODELS:
        for pair, g, n, limit in (
                ("jit_vs_portable", size, n_out, "1e-5"),
                ("jit_vs_reference", f"{n_check}/{e_check}", n_out_check,
                 "1e-4"),
                ("portable_vs_reference", f"{n_check}/{e_check}",
                 n_out_check, "1e-4")):
            d = tf("diff", m, pair)
            label = {"jit_vs_portable": "JIT vs portable",
                     "jit_vs_reference": "JIT vs hetero_ref float64",
                     "portable_vs_reference":
                         "portable vs hetero_ref float64"}[pair]
            ok = "" if d is not None and d <= float(limit) else " **OVER**"
            md.append(f"| {MODELS[m]} | {label} | {g} | {n} (all "
                      f"{node_type}s) | {fmt_diff(d)}{ok} | {limit} |")
        d = tf("info", m, "jit_vs_pytorch")
        if d is not None:
            md.append(f"| {MODELS[m]} | JIT vs PyTorch float32 (not a "
                      f"check) | {size} | {n_out} (all {node_type}s) | "
                      f"{fmt_diff(d)} | – |")
    md.append("")
    md.append(
        "Relative difference = max |a − b| / max(|b|, 1) over every element "
        "of every row of the node type, b the portable output, or the "
        "reference: `tools/hetero_ref.py` in float64 (plain torch, PyG's "
        "semantics) on the check graph"
        + (" (the timed graph itself)" if small else
           f" `het_check` ({n_check} nodes, {e_check} edges, built as "
           "`het`, seed 2)") + ".")
    md.append("")
    md.append("#### PyTorch")
    md.append("")
    load_ms = tf("load", "", "load_ms")
    torch_notes = [
        "`tools/hetero_ref.py`'s `forward_hetero` in float32, "
        f"{meta['threads']} thread, forward pass only: the graph (typed "
        "edge lists in row numbers, features) already in memory, read with "
        f"binary COPY in {fmt_ms(load_ms)} (not timed); one warm-up, then "
        f"the median of {meta['runs']} runs. BLAS: `{meta['blas']}`. "
        "hetero_ref computes the last layer for both node types; gnnjit "
        "only what the node type asked for needs."]
    for m in MODELS:
        est = tf("estimate", m, "pytorch_peak_gb")
        if tf("skipped", m, "pytorch") is not None:
            torch_notes.append(
                f"{MODELS[m]}: not run on this graph: hetero_ref's estimated "
                f"peak is {est:.1f} GB, over the limit of "
                f"{meta['torch_max_gb']} GB (it materialises [edges, 128] "
                "message tensors, for HGTConv those of every edge type at "
                "once); `HETERO_SMALL=1 bash bench/hetero.sh` "
                "(`bench/results/hetero_small.md`) has the comparison on the "
                "small graph.")
        elif est is not None:
            runs_t = [float(r["value"]) for r in torch_rows
                      if r["kind"] == "run" and r["model"] == m]
            torch_notes.append(
                f"{MODELS[m]}: runs " + ", ".join(fmt_ms(t) for t in runs_t)
                + f" (estimated peak {est:.1f} GB).")
    rss = tf("memory", "", "pytorch_maxrss_gb")
    if rss is not None:
        torch_notes.append(f"Peak RSS of the PyTorch process: {rss:.1f} GB.")
    md.extend(f"- {n}" for n in torch_notes)
    md.append("")
    md.append("#### EXPLAIN ANALYZE (JIT)")
    md.append("")
    for m in MODELS:
        ex = explain_values(os.path.join(run, f"explain_{m}.txt"))
        if ex:
            rss_kb = memory.get(m, {}).get("backend_peak_rss_kb")
            md.append(
                f"- {MODELS[m]}: execution {fmt_ms(float(ex['execution_ms']))}"
                f", rows read {ex.get('rows_read')}, peak memory "
                f"{int(ex.get('peak_kb', 0)) / 1024:.0f} MB, layer times "
                f"{ex.get('layer_times')}"
                + (f"; backend peak RSS so far {int(rss_kb) / 1024:.0f} MB"
                   if rss_kb else "") + ".")
    md.append("")
    md.append(f"Full plans: `{os.path.basename(prefix)}_explain.txt`.")
    text = "\n".join(md) + "\n"
    with open(prefix + ".md", "w", encoding="utf-8") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
