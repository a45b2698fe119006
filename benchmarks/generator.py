"""Benchmark the sample-source generator: wall time, volume and peak memory.

Runs :func:`userops.sources.generate.generate` for ``--users`` x ``--days`` into a
temporary folder (SQLite CRM + JSON Lines events) and prints one line per figure.
The generator must stream: 1,000,000 users x 90 days has to fit in 2 GiB peak RSS.

    PYTHONPATH=plugins .venv/bin/python benchmarks/generator.py --users 1000000 --days 90
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from userops.sources.generate import GeneratorConfig, generate


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=GeneratorConfig.users)
    parser.add_argument("--days", type=int, default=GeneratorConfig.days)
    parser.add_argument("--seed", type=int, default=GeneratorConfig.seed)
    parser.add_argument("--end-date", type=date.fromisoformat, default=GeneratorConfig.end_date)
    parser.add_argument("--dirty-rate", type=float, default=GeneratorConfig.dirty_rate)
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--out-dir", type=Path, help="keep the output here (default: a temp dir)")
    args = parser.parse_args(argv)

    config = GeneratorConfig(
        seed=args.seed,
        users=args.users,
        days=args.days,
        end_date=args.end_date,
        dirty_rate=args.dirty_rate,
        gzip=args.gzip,
    )
    root = args.out_dir or Path(tempfile.mkdtemp(prefix="userops-bench-"))
    try:
        started = time.perf_counter()
        summary = generate(config, f"sqlite:///{root / 'crm.sqlite'}", root / "events")
        wall = time.perf_counter() - started
        usage = resource.getrusage(resource.RUSAGE_SELF)
        peak_mib = usage.ru_maxrss / 1024  # Linux reports KiB
        figures = {
            "users": config.users,
            "days": config.days,
            "span_days": config.span_days,
            "wall_seconds": round(wall, 1),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),  # wall on a shared box
            "events_written": summary.events_written,
            "lines_written": summary.lines_written,
            "events_per_second": round(summary.lines_written / wall),
            "partition_files": len(summary.partitions),
            "events_mib": round(_du(root / "events") / 2**20, 1),
            "crm_rows": sum(summary.crm_rows.values()),
            "crm_mib": round((root / "crm.sqlite").stat().st_size / 2**20, 1),
            "peak_rss_mib": round(peak_mib, 1),
        }
        for key, value in figures.items():
            print(f"{key:>18}: {value}")
        return 0 if peak_mib <= 2048 else 1
    finally:
        if args.out_dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
