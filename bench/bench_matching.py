"""Benchmark: import_referrals at scale, then the time to match one new referral.

For each size (number of imported referrals) and each database, in one run:
  1. generate families and referral histories with nlp/linkage_synth.py (deterministic);
     the latest N referrals are held out as "new" submissions, the rest written as legacy CSV;
  2. create a fresh database (SQLite file, or a PostgreSQL database that is not `test`),
     migrate it and run `manage.py import_referrals` in a child process: wall time and the
     child's peak RSS;
  3. in another child process, store each held-out referral as an online submission and time
     `referral_match_prior` (index its people, one candidate query, score, write links):
     median and p95, the candidate-set size, and referral-level precision/recall of the
     links against the generator's ground truth.

    .venv/bin/python bench/bench_matching.py --sizes 10000,100000 --db sqlite,postgres \
        --postgres-url postgres://postgres@127.0.0.1:5432/bench_match
    .venv/bin/python bench/bench_matching.py --sizes 340000 --db postgres     # ~1M people

Figures are printed as a table and as one JSON line per (size, database).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PG_DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_matching"
REFERRALS_PER_FAMILY = 3.08  # measured on the generator: 3,000 families -> 9,238 referrals


def child_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_DEBUG", "REDIS_URL"}}
    # Not DEBUG: Django would keep every query in memory and distort time and RSS.
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_TESTING="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        LOG_LEVEL="WARNING",
    )
    return env


def run_child(args: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}): {' '.join(args)}\n{proc.stderr[-3000:]}")


def run_measured(args: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """Run a child: (wall s, its own CPU s, wait4's peak RSS MB, stdout).

    CPU seconds are reported beside wall time because a shared machine inflates wall time.
    wait4's ru_maxrss is NOT the child's own peak: Linux folds in the memory of the process
    it was forked from (this one, holding the whole generated data set: ~670 MB at 1M
    people), so the import's peak is read inside the child instead (worker_import).
    """
    start = time.perf_counter()
    out_path = Path(tempfile.gettempdir()) / f"bench_matching_{os.getpid()}.out"
    err_path = out_path.with_suffix(".err")
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    text, errors = out_path.read_text(), err_path.read_text()
    out_path.unlink()
    err_path.unlink()
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}): {' '.join(args)}\n{errors[-3000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, text


def fresh_database(kind: str, size: int, workdir: Path, postgres_url: str) -> str:
    """An empty database: a new SQLite file, or the PostgreSQL database of `postgres_url` recreated."""
    if kind == "sqlite":
        path = workdir / f"bench_{size}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg
    from psycopg import sql

    target = urlsplit(postgres_url)
    name = target.path.lstrip("/")
    if not name or name in {"postgres", "test", "template0", "template1"}:
        raise SystemExit(f"--postgres-url must name a database of its own to drop and recreate, not {name!r}")
    admin = urlunsplit(target._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return postgres_url


def prepare_data(size: int, samples: int, seed: int, workdir: Path) -> tuple[Path, Path, int, int]:
    """Write the import CSV and the held-out CSV; returns (import csv, new csv, rows, referrals)."""
    sys.path.insert(0, str(ROOT))
    # The parent does not set up Django, so it takes the column list from the generator.
    from nlp.linkage_synth import LEGACY_CSV_COLUMNS as COLUMNS
    from nlp.linkage_synth import synth_generate

    families = math.ceil((size + samples) / REFERRALS_PER_FAMILY)
    dataset = synth_generate(seed=seed, families=families)
    referrals = list(dataset.referrals)
    held_out, history = referrals[-samples:], referrals[:-samples][:size]

    def write(path: Path, items: list) -> int:
        rows = 0
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            for referral in items:
                for index, row in enumerate(referral.rows):
                    writer.writerow(row.csv_row(first_of_referral=index == 0))
                    rows += 1
        return rows

    import_csv = workdir / f"history_{size}.csv"
    new_csv = workdir / f"new_{size}.csv"
    rows = write(import_csv, history)
    write(new_csv, held_out)
    truth = {r.reference: r.family_id for r in referrals}
    (workdir / f"truth_{size}.json").write_text(json.dumps(truth))
    return import_csv, new_csv, rows, len(history)


def peak_rss_mb() -> float:
    """This process's own peak resident memory since exec (VmHWM; Linux)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return math.nan


def worker_import(csv_path: str) -> None:
    """Child: run import_referrals as `manage.py` would, then print its own peak RSS."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("import_referrals", csv_path)
    print(json.dumps({"import_peak_rss_mb": round(peak_rss_mb())}))


def worker_match(new_csv: str, truth_path: str) -> None:
    """Child: store each held-out referral as a submission and time matching it."""
    import django

    django.setup()
    from django.db import connection

    from intake.models import Person, Referral, ReferralSource
    from nlp.legacy_csv import LegacyCsv
    from nlp.matching import MatchModel
    from nlp.models.matching import PersonKey, ReferralLink
    from nlp.selectors.matching import person_candidates_list, person_keys_normalised
    from nlp.services.matching import referral_match_prior

    truth: dict[str, str] = json.loads(Path(truth_path).read_text())
    MatchModel.load_default()  # loaded once per process, like a worker
    reader = LegacyCsv(new_csv)
    assert reader.check(on_error=lambda e: None).error_count == 0
    timings: list[float] = []
    cpu_timings: list[float] = []
    candidates: list[int] = []
    tp = {"likely": 0, "possible": 0}
    fp = {"likely": 0, "possible": 0}
    found = {"likely": 0, "possible": 0}
    with_prior = 0
    stored_families = {truth[ref] for ref in Referral.objects.values_list("reference", flat=True) if ref in truth}
    people_stored = PersonKey.objects.count()
    for item in reader.referrals():
        referral = Referral.objects.create(
            reference=f"N{item.reference}"[-20:],
            form_type=item.form_type,
            source=ReferralSource.ONLINE,
            received_date=item.received_date,
            what_happened=item.narrative,
        )
        Person.objects.bulk_create(
            Person(
                referral=referral,
                position=i,
                role=p.role,
                given_name=p.given_name,
                family_name=p.family_name,
                aliases=list(p.other_names),
                date_of_birth=p.date_of_birth,
                sex=p.sex,
                address_line=p.address_line,
                postcode=p.postcode,
                nhs_number=p.nhs_number,
            )
            for i, p in enumerate(item.people, start=1)
        )
        start, cpu_start = time.perf_counter(), time.process_time()
        referral_match_prior(referral_id=referral.pk)
        timings.append(time.perf_counter() - start)
        cpu_timings.append(time.process_time() - cpu_start)
        candidates.append(
            len(
                person_candidates_list(
                    people=person_keys_normalised(referral_id=referral.pk), exclude_referral_ids=[referral.pk]
                )
            )
        )
        family = truth[item.reference]
        has_prior = family in stored_families
        with_prior += has_prior
        hit = {"likely": False, "possible": False}
        for link in ReferralLink.objects.filter(referral=referral).select_related("prior_referral"):
            prior_family = truth.get(link.prior_referral.reference) or truth.get(link.prior_referral.reference[1:])
            right = prior_family == family
            for band in ("likely", "possible"):
                if band == "possible" or link.band == "likely":
                    tp[band] += right
                    fp[band] += not right
                    hit[band] |= right
        for band in ("likely", "possible"):
            found[band] += hit[band]
        stored_families.add(family)
    timings_ms = sorted(t * 1000 for t in timings)
    result = {
        "vendor": connection.vendor,
        "people_stored": people_stored,
        "samples": len(timings_ms),
        "match_ms_median": round(statistics.median(timings_ms), 2),
        "match_ms_p95": round(timings_ms[max(0, math.ceil(0.95 * len(timings_ms)) - 1)], 2),
        "match_cpu_ms_median": round(statistics.median(cpu_timings) * 1000, 2),
        "candidates_median": statistics.median(candidates),
        "candidates_max": max(candidates),
        "link_precision_likely": round(tp["likely"] / max(1, tp["likely"] + fp["likely"]), 4),
        "link_precision_possible": round(tp["possible"] / max(1, tp["possible"] + fp["possible"]), 4),
        "recall_likely": round(found["likely"] / max(1, with_prior), 4),
        "recall_possible": round(found["possible"] / max(1, with_prior), 4),
    }
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="imported referrals per run, comma-separated")
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--samples", type=int, default=200, help="held-out new referrals to match")
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument(
        "--postgres-url",
        default=PG_DEFAULT_URL,
        help="PostgreSQL database to DROP and recreate for each size (never `test` or `postgres`)",
    )
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "bench_matching"))
    parser.add_argument("--worker", choices=["import", "match"], help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--new-csv", help=argparse.SUPPRESS)
    parser.add_argument("--truth", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "match":
        worker_match(args.new_csv, args.truth)
        return
    if args.worker == "import":
        worker_import(args.csv)
        return

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    results = []
    for size in [int(s) for s in args.sizes.split(",")]:
        start = time.perf_counter()
        import_csv, new_csv, rows, referrals = prepare_data(size, args.samples, args.seed, workdir)
        print(f"# generated {referrals} referrals / {rows} people in {time.perf_counter() - start:.1f}s", flush=True)
        for kind in args.db.split(","):
            url = fresh_database(kind, size, workdir, args.postgres_url)
            env = child_env(url)
            run_child([python, "manage.py", "migrate", "-v0"], env)
            load = os.getloadavg()[0]
            import_s, import_cpu, _wait4_rss, import_out = run_measured(
                [python, __file__, "--worker", "import", "--csv", str(import_csv)], env
            )
            import_rss = json.loads(import_out.strip().splitlines()[-1])["import_peak_rss_mb"]
            _match_s, _match_cpu, _match_rss, out = run_measured(
                [
                    python,
                    __file__,
                    "--worker",
                    "match",
                    "--new-csv",
                    str(new_csv),
                    "--truth",
                    str(workdir / f"truth_{size}.json"),
                ],
                env,
            )
            result: dict[str, object] = {
                "db": kind,
                "referrals": referrals,
                "people": rows,
                "import_s": round(import_s, 1),
                "import_cpu_s": round(import_cpu, 1),
                "load_avg_1m": round(load, 1),
                "import_peak_rss_mb": round(import_rss),
                **json.loads(out.strip().splitlines()[-1]),
            }
            results.append(result)
            print(json.dumps(result), flush=True)
    header = (
        "db",
        "referrals",
        "people",
        "import_s",
        "import_cpu_s",
        "import_peak_rss_mb",
        "match_ms_median",
        "match_ms_p95",
        "match_cpu_ms_median",
        "candidates_median",
        "candidates_max",
        "recall_likely",
        "link_precision_likely",
        "recall_possible",
    )
    print("\n| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for result in results:
        print("| " + " | ".join(str(result.get(h, "")) for h in header) + " |")


if __name__ == "__main__":
    main()
