"""Server time of each wizard step and of the final submit, on SQLite and PostgreSQL, side by side.

Run from the project root:

    .venv/bin/python bench/bench_intake.py [--journeys 30] [--postgres-url postgres://postgres@127.0.0.1:5432/wizard_bench]

Each backend runs in its own process (settings are read once per process) against its own
database: a throwaway SQLite file, and the PostgreSQL database named in --postgres-url (created
by you, e.g. `createdb -h 127.0.0.1 -U postgres wizard_bench`; migrated here). Tasks are queued,
not run inline (Q_SYNC=0), as in production: the ORM broker on SQLite, Redis on PostgreSQL when
--redis-url is given. Timings are wall-clock time inside Django's test client (the full request
through middleware, views, templates and the database), one practice alert journey after
another; the first journey is a warm-up and not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def run_backend(journeys: int) -> dict[str, dict[str, float]]:
    """Walk `journeys` practice alerts plus one warm-up, timing every request; in this process."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0, interactive=False)
    from tests.intake.journey_walk import Journey, practice_alert_answers, step_post
    from triage.services import reference_data_load

    reference_data_load()
    timings: dict[str, list[float]] = {}
    for iteration in range(journeys + 1):
        client = Client()
        started = time.perf_counter()
        journey = Journey(client)
        start_ms = (time.perf_counter() - started) * 1000
        samples = {"start (new draft)": start_ms}
        answers = practice_alert_answers()
        step = journey.next_step()
        while step is not None:
            body = step_post(step, answers[step])
            url = journey.url(step)
            started = time.perf_counter()
            response = client.post(url, body)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 302:
                raise SystemExit(f"{step}: status {response.status_code}")
            label = "SUBMIT (declaration)" if "/confirmation/" in response["Location"] else step
            samples[label] = elapsed
            if label.startswith("SUBMIT"):
                break
            started = time.perf_counter()
            page = client.get(response["Location"])
            samples[f"GET {response['Location'].rstrip('/').split('/')[-1]}"] = (time.perf_counter() - started) * 1000
            if page.status_code != 200:
                raise SystemExit(f"GET after {step}: status {page.status_code}")
            step = response["Location"].rstrip("/").split("/")[-1]
        if iteration == 0:
            continue  # warm-up: template loading, first connections
        for label, value in samples.items():
            timings.setdefault(label, []).append(value)
    try:
        from django_q.brokers import get_broker

        get_broker().purge_queue()
    except Exception as exc:  # the queue is only left-over bench data
        print(f"could not purge the task queue: {type(exc).__name__}", file=sys.stderr)
    return {
        label: {
            "median": statistics.median(values),
            "p95": _percentile(values, 0.95),
            "n": len(values),
        }
        for label, values in timings.items()
    }


def _child_env(database_url: str, redis_url: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_TESTING": "1",
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "Q_SYNC": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=30)
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/wizard_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(run_backend(args.journeys)))
        return

    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        backends = [("SQLite", f"sqlite:///{tmp}/bench.sqlite3", None)]
        if not args.skip_postgres:
            backends.append(("PostgreSQL", args.postgres_url, args.redis_url))
        for name, url, redis_url in backends:
            completed = subprocess.run(
                [sys.executable, __file__, "--child", "--journeys", str(args.journeys)],
                env=_child_env(url, redis_url),
                capture_output=True,
                text=True,
                check=False,
                cwd=ROOT,
            )
            if completed.returncode != 0:
                raise SystemExit(f"{name} run failed:\n{completed.stderr[-3000:]}")
            results[name] = json.loads(completed.stdout.strip().splitlines()[-1])

    names = list(results)
    labels = list(results[names[0]])
    header = f"{'request (ms)':28}" + "".join(f"{name + ' median':>20}{name + ' p95':>18}" for name in names)
    print(f"{args.journeys} practice alert journeys per backend (after one warm-up)")
    print(header)
    print("-" * len(header))
    for label in labels:
        row = f"{label:28}"
        for name in names:
            stats = results[name].get(label)
            row += f"{stats['median']:>20.1f}{stats['p95']:>18.1f}" if stats else f"{'-':>20}{'-':>18}"
        print(row)
    for name in names:
        submit = results[name]["SUBMIT (declaration)"]["median"]
        verdict = "OK" if submit < 100 else "OVER BUDGET"
        print(f"{name}: final submit median {submit:.1f} ms (budget 100 ms): {verdict}")


if __name__ == "__main__":
    main()
