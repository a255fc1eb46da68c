"""Demo data for the local server: real tables, three task graphs and a few days of history.

    >>> sorted(t["name"] for t in demo_tasks() if not t.get("predecessors") and not t.get("finalize"))
    ['MARKETING_METRICS', 'NIGHTLY_ELT', 'REFRESH_INVENTORY']

``tasknb.local.start(seed="demo")`` (or ``tasknb server --seed demo``) calls :func:`seed_demo`.

What it builds in ``DEMO_DB`` (tasks live in ``PIPELINES``; sources in ``RAW``; outputs in
``ANALYTICS``), all real SQL that really runs on the embedded engine:

* ``NIGHTLY_ELT`` - a nightly ELT graph, ``USING CRON 0 2 * * * America/Los_Angeles`` with a
  graph config (``batch_size``)::

      NIGHTLY_ELT (ingest a batch of orders, returns the row count)
        |-> LOAD_CUSTOMERS (rebuild the customer dimension)
        '-> CLEAN_ORDERS   (WHEN the ingest loaded rows; rejects bad rows, dedupes)
              '-> AGGREGATE_DAILY (after CLEAN_ORDERS and LOAD_CUSTOMERS)
                    '-> PUBLISH_REPORT (returns a summary)
                          '-> EXPORT_TO_PARTNER (left suspended: skipped in every run)
      NIGHTLY_FINALIZER (finalizer: writes an audit row, success or not)

* ``MARKETING_METRICS`` - a graph that fails for real reasons, twice a day (06:00 and 18:00
  UTC), in **two tasks of the same run**: ``LOAD_AD_SPEND`` reads ``RAW.AD_SPEND``, a table that
  no longer exists (the source team renamed it to ``RAW.MARKETING_SPEND``
  :data:`RENAMED_BEFORE_END` before the end of the history: 002003), and
  ``COMPUTE_CONVERSION`` divides yesterday's conversions by sessions, which is zero for the
  ``affiliate`` channel since its tracking pixel went down :data:`PIXEL_DOWN_DAYS` days before
  the end of the history (100051). ``BUILD_FUNNEL`` after both never runs while they fail.
* ``REFRESH_INVENTORY`` - a standalone task every 60 minutes (inventory snapshots).
* History: the manual clock starts :data:`HISTORY` (7 days) before the present and is
  fast-forwarded to it, so every schedule fires as it would have and the clock ends at the real
  present; then ``MARKETING_METRICS`` is executed once more by hand (so a failure is inside the
  60-minute window of the complete-graphs view). On the real clock each root is executed once.

Built once: :func:`copy_demo_build` copies a cached build (younger than
:data:`BUILD_MAX_AGE`, in :func:`demo_cache_dir`) into an empty data directory instead of
simulating the week again; ``start(seed="demo")`` uses it when no ``start_time`` is given.

Idempotent: nothing happens when ``DEMO_DB`` already exists (a restart on the same data dir).
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

__all__ = [
    "ANALYTICS_SCHEMA",
    "DEMO_DATABASE",
    "FAILING_ROOT",
    "HISTORY",
    "NIGHTLY_ROOT",
    "RAW_SCHEMA",
    "STANDALONE_TASK",
    "TASK_SCHEMA",
    "copy_demo_build",
    "demo_cache_dir",
    "demo_tasks",
    "seed_demo",
]

DEMO_DATABASE = "DEMO_DB"
TASK_SCHEMA = "PIPELINES"
RAW_SCHEMA = "RAW"
ANALYTICS_SCHEMA = "ANALYTICS"
NIGHTLY_ROOT = "NIGHTLY_ELT"
FAILING_ROOT = "MARKETING_METRICS"
STANDALONE_TASK = "REFRESH_INVENTORY"
#: How far the manual clock is fast-forwarded to produce history (it ends at the present).
HISTORY = timedelta(days=7)
#: The affiliate channel's sessions are zero from this many days before the end of history.
PIXEL_DOWN_DAYS = 2
#: ``RAW.AD_SPEND`` is renamed to ``RAW.MARKETING_SPEND`` this long before the end of history.
RENAMED_BEFORE_END = timedelta(days=2)
_RENAME_SOURCE = (
    "CREATE TABLE MARKETING_SPEND AS SELECT * FROM AD_SPEND;\nDROP TABLE AD_SPEND"
)
#: A cached demo build younger than this is copied instead of simulating the history again.
BUILD_MAX_AGE = timedelta(minutes=30)
CACHE_ENV = "TASKNB_CACHE_DIR"  # where demo builds are cached (default ~/.cache/tasknb)
_BUILD_PREFIX = "demo-"
_SKIPPED_FILES = (".tasknb-local.lock", "orphaned")
#: Tasks created but deliberately left suspended (skipped by every run).
SUSPENDED_TASKS = ("EXPORT_TO_PARTNER",)
SEED = 20261129  # deterministic sample data
N_CUSTOMERS = 40
N_ORDERS = 1080  # 9 nightly batches of 120: every night of the history has orders
N_SESSION_DAYS = 40
WAREHOUSE = "DEMO_WH"

_REGIONS = ("EMEA", "AMER", "APAC")
_CHANNELS = ("web", "mobile", "partner", "affiliate")
_PRODUCTS = (
    (1, "Trail Running Shoes", "footwear", 129.00),
    (2, "Merino Base Layer", "apparel", 79.50),
    (3, "Ultralight Tent", "camping", 349.00),
    (4, "Headlamp 400lm", "camping", 39.90),
    (5, "Water Filter", "camping", 44.00),
    (6, "Rain Shell", "apparel", 189.00),
    (7, "Hiking Poles", "gear", 69.00),
    (8, "Sleeping Pad", "camping", 99.00),
    (9, "Trail Socks (3-pack)", "apparel", 24.00),
    (10, "Daypack 22L", "gear", 89.00),
    (11, "Camp Stove", "camping", 59.00),
    (12, "Insulated Bottle", "gear", 32.00),
)
_FIRST = (
    "Ada",
    "Linus",
    "Grace",
    "Ken",
    "Barbara",
    "Edsger",
    "Frances",
    "Donald",
    "Radia",
    "Tim",
    "Margaret",
    "Dennis",
    "Sophie",
    "Alan",
    "Hedy",
    "Niklaus",
    "Lynn",
    "Guido",
)
_LAST = (
    "Lovelace",
    "Torvalds",
    "Hopper",
    "Thompson",
    "Liskov",
    "Dijkstra",
    "Allen",
    "Knuth",
    "Perlman",
    "Berners-Lee",
    "Hamilton",
    "Ritchie",
    "Wilson",
    "Kay",
    "Lamarr",
    "Wirth",
)


# ------------------------------------------------------------------------------- sample data


def _sql_value(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, datetime):
        return f"'{value:%Y-%m-%d %H:%M:%S}'"
    if isinstance(value, date):
        return f"'{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _insert(table: str, rows: list[tuple[Any, ...]]) -> str:
    values = ",\n  ".join("(" + ", ".join(_sql_value(v) for v in row) + ")" for row in rows)
    return f"INSERT INTO {table} VALUES\n  {values}"


def _customers(rng: random.Random) -> list[tuple[Any, ...]]:
    rows = []
    for customer_id in range(1, N_CUSTOMERS + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        # raw data is messy: stray spaces and mixed case, as exported by the shop system
        name = f"  {first.lower()} {last} " if customer_id % 7 == 0 else f"{first} {last}"
        email = f"{first}.{last}{customer_id}@example.com".replace(" ", "").upper()
        region = rng.choice(_REGIONS).lower() if customer_id % 5 == 0 else rng.choice(_REGIONS)
        signup = date(2024, 1, 1) + timedelta(days=rng.randrange(600))
        rows.append((customer_id, name, email, region, signup))
    return rows


def _orders(rng: random.Random, start: date) -> list[tuple[Any, ...]]:
    rows = []
    for order_id in range(1001, 1001 + N_ORDERS):
        day = start + timedelta(days=(order_id - 1001) * 12 // N_ORDERS)
        ts = datetime.combine(day, datetime.min.time()) + timedelta(minutes=rng.randrange(1440))
        quantity: str = str(rng.choice((1, 1, 1, 2, 2, 3, 4)))
        customer: int | None = rng.randrange(1, N_CUSTOMERS + 1)
        status = rng.choice(("completed",) * 8 + ("cancelled", "CANCELLED"))
        if order_id % 53 == 0:
            quantity = "N/A"  # a typo from the point-of-sale export
        if order_id % 71 == 0:
            customer = None  # guest checkout without a customer id
        if order_id % 89 == 0:
            quantity = "-1"  # a return booked as an order
        rows.append(
            (
                order_id,
                customer,
                rng.randrange(1, len(_PRODUCTS) + 1),
                quantity,
                ts,
                status,
                rng.choice(_CHANNELS),
            )
        )
        if order_id % 97 == 0:  # the feed delivers some orders twice
            rows.append(rows[-1])
    return rows


def _sessions(rng: random.Random, start: date, pixel_down: date) -> list[tuple[Any, ...]]:
    rows = []
    for offset in range(N_SESSION_DAYS):
        day = start + timedelta(days=offset)
        for channel in _CHANNELS:
            sessions = rng.randrange(200, 5000)
            if channel == "affiliate" and day >= pixel_down:
                sessions = 0  # the affiliate network's tracking pixel has been down since then
            conversions = 0 if sessions == 0 else rng.randrange(1, max(2, sessions // 25))
            rows.append((day, channel, sessions, conversions))
    return rows


def _setup_statements(end: date) -> list[tuple[str, str]]:
    """(schema, sql) pairs creating the demo tables and their sample rows; history ends on ``end``."""
    rng = random.Random(SEED)
    start = end - HISTORY - timedelta(days=7)
    pixel_down = end - timedelta(days=PIXEL_DOWN_DAYS)
    raw, pipe, out = RAW_SCHEMA, TASK_SCHEMA, ANALYTICS_SCHEMA
    inventory = [(p[0], wh, rng.randrange(20, 400), 40) for p in _PRODUCTS for wh in ("ZRH", "SFO")]
    return [
        (
            raw,
            (
                "CREATE TABLE CUSTOMERS (customer_id INT, name VARCHAR, email VARCHAR, "
                "region VARCHAR, signup_date DATE)"
            ),
        ),
        (raw, _insert("CUSTOMERS", _customers(rng))),
        (
            raw,
            (
                "CREATE TABLE PRODUCTS (product_id INT, name VARCHAR, category VARCHAR, "
                "unit_price NUMBER(10,2))"
            ),
        ),
        (raw, _insert("PRODUCTS", list(_PRODUCTS))),
        (
            raw,
            (
                "CREATE TABLE ORDERS_FEED (order_id INT, customer_id INT, product_id INT, "
                "quantity VARCHAR, order_ts TIMESTAMP_NTZ, status VARCHAR, channel VARCHAR)"
            ),
        ),
        (raw, _insert("ORDERS_FEED", _orders(rng, start))),
        (
            raw,
            "CREATE TABLE WEB_SESSIONS (day DATE, channel VARCHAR, sessions INT, conversions INT)",
        ),
        (raw, _insert("WEB_SESSIONS", _sessions(rng, start, pixel_down))),
        (raw, "CREATE TABLE AD_SPEND (day DATE, channel VARCHAR, spend NUMBER(12,2))"),
        (
            raw,
            _insert(
                "AD_SPEND",
                [
                    (d, c, round(s * 0.35, 2))
                    for d, c, s, _ in _sessions(random.Random(SEED + 1), start, pixel_down)
                ],
            ),
        ),
        (
            raw,
            (
                "CREATE TABLE INVENTORY (product_id INT, warehouse VARCHAR, on_hand INT, "
                "reorder_point INT)"
            ),
        ),
        (raw, _insert("INVENTORY", inventory)),
        (
            pipe,
            (
                "CREATE TABLE ORDERS_STAGE (order_id INT, customer_id INT, product_id INT, "
                "quantity VARCHAR, order_ts TIMESTAMP_NTZ, status VARCHAR, channel VARCHAR, "
                "loaded_at TIMESTAMP_LTZ)"
            ),
        ),
        (
            pipe,
            (
                "CREATE TABLE ORDERS_CLEAN (order_id INT, customer_id INT, product_id INT, "
                "quantity INT, unit_price NUMBER(10,2), amount NUMBER(12,2), order_date DATE, "
                "channel VARCHAR, cleaned_at TIMESTAMP_LTZ)"
            ),
        ),
        (
            pipe,
            (
                "CREATE TABLE ORDERS_REJECTED (order_id INT, reason VARCHAR, "
                "rejected_at TIMESTAMP_LTZ)"
            ),
        ),
        (
            pipe,
            (
                "CREATE TABLE RUN_AUDIT (root_task VARCHAR, finished_at TIMESTAMP_LTZ, "
                "clean_orders INT, rejected_orders INT)"
            ),
        ),
        (
            pipe,
            (
                "CREATE TABLE CHANNEL_TRAFFIC (day DATE, channel VARCHAR, sessions INT, "
                "conversions INT)"
            ),
        ),
        (
            out,
            (
                "CREATE TABLE REPORT_SNAPSHOTS (published_at TIMESTAMP_LTZ, order_date DATE, "
                "region VARCHAR, revenue NUMBER(14,2), orders INT)"
            ),
        ),
        (
            out,
            (
                "CREATE TABLE PARTNER_EXPORT (exported_at TIMESTAMP_LTZ, order_date DATE, "
                "region VARCHAR, revenue NUMBER(14,2))"
            ),
        ),
        (
            out,
            (
                "CREATE TABLE CHANNEL_CONVERSION (computed_at TIMESTAMP_LTZ, day DATE, "
                "channel VARCHAR, conversion_rate FLOAT)"
            ),
        ),
        (out, "CREATE TABLE AD_SPEND_DAILY (day DATE, channel VARCHAR, spend NUMBER(12,2))"),
        (
            out,
            (
                "CREATE TABLE INVENTORY_SNAPSHOTS (snapshot_at TIMESTAMP_LTZ, product_id INT, "
                "warehouse VARCHAR, on_hand INT, low_stock BOOLEAN)"
            ),
        ),
    ]


# ------------------------------------------------------------------------------------- tasks


def demo_tasks() -> list[dict[str, Any]]:
    """The demo's task bodies (REST ``Task`` shape), in creation order.

    >>> [t["name"] for t in demo_tasks()][:3]
    ['NIGHTLY_ELT', 'LOAD_CUSTOMERS', 'CLEAN_ORDERS']
    """
    db = DEMO_DATABASE
    raw, pipe, out = f"{db}.{RAW_SCHEMA}", f"{db}.{TASK_SCHEMA}", f"{db}.{ANALYTICS_SCHEMA}"
    return [
        {
            "name": NIGHTLY_ROOT,
            "warehouse": WAREHOUSE,
            "comment": "Nightly ELT: ingest a batch of orders from the feed (root of the graph).",
            "schedule": {
                "schedule_type": "CRON_TYPE",
                "cron_expr": "0 2 * * *",
                "timezone": "America/Los_Angeles",
            },
            "config": {"batch_size": 120, "source": "shop-export", "owner": "data-eng"},
            "user_task_timeout_ms": 600_000,
            "definition": (
                f"INSERT INTO {pipe}.ORDERS_STAGE\n"
                "SELECT f.order_id, f.customer_id, f.product_id, f.quantity, f.order_ts,\n"
                "       f.status, f.channel, CURRENT_TIMESTAMP()\n"
                f"FROM {raw}.ORDERS_FEED f\n"
                f"WHERE NOT EXISTS (SELECT 1 FROM {pipe}.ORDERS_STAGE s "
                "WHERE s.order_id = f.order_id)\n"
                "ORDER BY f.order_id\n"
                "LIMIT SYSTEM$GET_TASK_GRAPH_CONFIG('batch_size')::INT;\n"
                "SELECT SYSTEM$SET_RETURN_VALUE(TO_VARCHAR(COUNT(*)))\n"
                f"FROM {pipe}.ORDERS_STAGE\n"
                f"WHERE loaded_at = (SELECT MAX(loaded_at) FROM {pipe}.ORDERS_STAGE)"
            ),
        },
        {
            "name": "LOAD_CUSTOMERS",
            "warehouse": WAREHOUSE,
            "comment": "Rebuild the customer dimension from the raw export.",
            "predecessors": [NIGHTLY_ROOT],
            "definition": (
                f"CREATE OR REPLACE TABLE {pipe}.DIM_CUSTOMERS AS\n"
                "SELECT customer_id, INITCAP(TRIM(name)) AS name, LOWER(email) AS email,\n"
                "       UPPER(region) AS region, signup_date\n"
                f"FROM {raw}.CUSTOMERS\nWHERE customer_id IS NOT NULL"
            ),
        },
        {
            "name": "CLEAN_ORDERS",
            "warehouse": WAREHOUSE,
            "comment": "Reject unusable rows, drop duplicates and cancellations, price orders.",
            "predecessors": [NIGHTLY_ROOT],
            "condition": f"SYSTEM$GET_PREDECESSOR_RETURN_VALUE('{NIGHTLY_ROOT}')::INT > 0",
            "definition": (
                f"INSERT INTO {pipe}.ORDERS_REJECTED\n"
                "SELECT DISTINCT s.order_id,\n"
                "       CASE WHEN TRY_CAST(s.quantity AS INT) IS NULL\n"
                "            THEN 'quantity is not a number: ' || s.quantity\n"
                "            WHEN s.customer_id IS NULL THEN 'missing customer_id'\n"
                "            ELSE 'quantity must be positive: ' || s.quantity END,\n"
                "       CURRENT_TIMESTAMP()\n"
                f"FROM {pipe}.ORDERS_STAGE s\n"
                "WHERE (TRY_CAST(s.quantity AS INT) IS NULL OR s.customer_id IS NULL\n"
                "       OR TRY_CAST(s.quantity AS INT) <= 0)\n"
                f"  AND NOT EXISTS (SELECT 1 FROM {pipe}.ORDERS_REJECTED r "
                "WHERE r.order_id = s.order_id);\n"
                f"INSERT INTO {pipe}.ORDERS_CLEAN\n"
                "SELECT s.order_id, s.customer_id, s.product_id, TRY_CAST(s.quantity AS INT),\n"
                "       p.unit_price, TRY_CAST(s.quantity AS INT) * p.unit_price,\n"
                "       TO_DATE(s.order_ts), LOWER(s.channel), CURRENT_TIMESTAMP()\n"
                f"FROM {pipe}.ORDERS_STAGE s\n"
                f"JOIN {raw}.PRODUCTS p ON p.product_id = s.product_id\n"
                "WHERE TRY_CAST(s.quantity AS INT) > 0 AND s.customer_id IS NOT NULL\n"
                "  AND UPPER(s.status) <> 'CANCELLED'\n"
                f"  AND NOT EXISTS (SELECT 1 FROM {pipe}.ORDERS_CLEAN c "
                "WHERE c.order_id = s.order_id)\n"
                "QUALIFY ROW_NUMBER() OVER (PARTITION BY s.order_id ORDER BY s.loaded_at) = 1"
            ),
        },
        {
            "name": "AGGREGATE_DAILY",
            "warehouse": WAREHOUSE,
            "comment": "Revenue per day and region.",
            "predecessors": ["CLEAN_ORDERS", "LOAD_CUSTOMERS"],
            "definition": (
                f"CREATE OR REPLACE TABLE {out}.DAILY_REVENUE AS\n"
                "SELECT o.order_date, c.region, COUNT(*) AS orders,\n"
                "       SUM(o.amount) AS revenue, ROUND(AVG(o.amount), 2) AS avg_order_value\n"
                f"FROM {pipe}.ORDERS_CLEAN o\n"
                f"JOIN {pipe}.DIM_CUSTOMERS c ON c.customer_id = o.customer_id\n"
                "GROUP BY o.order_date, c.region"
            ),
        },
        {
            "name": "PUBLISH_REPORT",
            "warehouse": WAREHOUSE,
            "comment": "Snapshot the latest complete day for the dashboard.",
            "predecessors": ["AGGREGATE_DAILY"],
            "definition": (
                f"INSERT INTO {out}.REPORT_SNAPSHOTS\n"
                "SELECT CURRENT_TIMESTAMP(), order_date, region, revenue, orders\n"
                f"FROM {out}.DAILY_REVENUE\n"
                f"WHERE order_date = (SELECT MAX(order_date) FROM {out}.DAILY_REVENUE);\n"
                "SELECT SYSTEM$SET_RETURN_VALUE('published ' || COUNT(*) || ' rows, revenue '\n"
                "       || TO_VARCHAR(SUM(revenue)))\n"
                f"FROM {out}.DAILY_REVENUE"
            ),
        },
        {
            "name": "EXPORT_TO_PARTNER",
            "warehouse": WAREHOUSE,
            "comment": "Disabled until the partner's endpoint is ready (left suspended).",
            "predecessors": ["PUBLISH_REPORT"],
            "definition": (
                f"INSERT INTO {out}.PARTNER_EXPORT\n"
                "SELECT CURRENT_TIMESTAMP(), order_date, region, revenue\n"
                f"FROM {out}.DAILY_REVENUE"
            ),
        },
        {
            "name": "NIGHTLY_FINALIZER",
            "warehouse": WAREHOUSE,
            "comment": "Runs after every nightly run, whatever happened: writes an audit row.",
            "finalize": NIGHTLY_ROOT,
            "definition": (
                f"INSERT INTO {pipe}.RUN_AUDIT\n"
                "SELECT SYSTEM$TASK_RUNTIME_INFO('CURRENT_ROOT_TASK_NAME'), CURRENT_TIMESTAMP(),\n"
                f"       (SELECT COUNT(*) FROM {pipe}.ORDERS_CLEAN),\n"
                f"       (SELECT COUNT(*) FROM {pipe}.ORDERS_REJECTED)"
            ),
        },
        {
            "name": FAILING_ROOT,
            "warehouse": WAREHOUSE,
            "comment": "Marketing metrics, twice a day: picks yesterday's web traffic.",
            "schedule": {
                "schedule_type": "CRON_TYPE",
                "cron_expr": "0 6,18 * * *",
                "timezone": "UTC",
            },
            "definition": (
                f"CREATE OR REPLACE TABLE {pipe}.CHANNEL_TRAFFIC AS\n"
                f"SELECT w.* FROM {raw}.WEB_SESSIONS w\n"
                "WHERE w.day = DATEADD(day, -1, CURRENT_DATE());\n"
                "SELECT SYSTEM$SET_RETURN_VALUE(TO_VARCHAR(MAX(day)))\n"
                f"FROM {pipe}.CHANNEL_TRAFFIC"
            ),
        },
        {
            "name": "COMPUTE_CONVERSION",
            "warehouse": WAREHOUSE,
            "comment": "Conversion rate per channel (bug: no guard against zero sessions).",
            "predecessors": [FAILING_ROOT],
            "definition": (
                f"INSERT INTO {out}.CHANNEL_CONVERSION\n"
                "SELECT CURRENT_TIMESTAMP(), day, channel, conversions / sessions\n"
                f"FROM {pipe}.CHANNEL_TRAFFIC"
            ),
        },
        {
            "name": "LOAD_AD_SPEND",
            "warehouse": WAREHOUSE,
            "comment": "Ad spend per channel (the source was renamed to RAW.MARKETING_SPEND).",
            "predecessors": [FAILING_ROOT],
            "definition": (
                f"CREATE OR REPLACE TABLE {out}.AD_SPEND_DAILY AS\n"
                "SELECT day, channel, SUM(spend) AS spend\n"
                f"FROM {raw}.AD_SPEND\n"
                "GROUP BY day, channel"
            ),
        },
        {
            "name": "BUILD_FUNNEL",
            "warehouse": WAREHOUSE,
            "comment": "Cost per conversion by channel.",
            "predecessors": ["COMPUTE_CONVERSION", "LOAD_AD_SPEND"],
            "definition": (
                f"CREATE OR REPLACE TABLE {out}.FUNNEL AS\n"
                "SELECT t.channel, t.conversions, a.spend,\n"
                "       DIV0(a.spend, t.conversions) AS cost_per_conversion\n"
                f"FROM {pipe}.CHANNEL_TRAFFIC t\n"
                f"JOIN {out}.AD_SPEND_DAILY a ON a.day = t.day AND a.channel = t.channel"
            ),
        },
        {
            "name": STANDALONE_TASK,
            "warehouse": WAREHOUSE,
            "comment": "Hourly inventory snapshot; flags products below their reorder point.",
            "schedule": {"schedule_type": "MINUTES_TYPE", "minutes": 60},
            "definition": (
                f"INSERT INTO {out}.INVENTORY_SNAPSHOTS\n"
                "SELECT CURRENT_TIMESTAMP(), product_id, warehouse, on_hand,\n"
                "       on_hand < reorder_point\n"
                f"FROM {raw}.INVENTORY;\n"
                f"UPDATE {raw}.INVENTORY SET on_hand = GREATEST(on_hand - 2, 0)"
            ),
        },
    ]


# -------------------------------------------------------------------------------------- seed


def seed_demo(server: Any) -> list[dict[str, Any]]:
    """Create the demo database, its tables, tasks and history; return the runs produced.

    ``server`` is a LocalServer (or its ``service``). Does nothing if ``DEMO_DB`` exists. On a
    manual clock the history runs from the clock's time for :data:`HISTORY`: start the clock
    that long before the present (as :func:`copy_demo_build` does) to end at the present.
    """
    service = getattr(server, "service", server)
    if DEMO_DATABASE in service.store.databases:
        return []
    manual = bool(getattr(service, "manual", False))
    end = service.now() + (HISTORY if manual else timedelta(0))
    service.create_database(
        {"name": DEMO_DATABASE, "comment": "tasknb demo: orders ELT, marketing metrics"}
    )
    for schema, comment in (
        (RAW_SCHEMA, "Source data as delivered"),
        (TASK_SCHEMA, "Task graphs and intermediate tables"),
        (ANALYTICS_SCHEMA, "Published results"),
    ):
        service.create_schema(DEMO_DATABASE, {"name": schema, "comment": comment})
    for schema, sql in _setup_statements(end.date()):
        service.run_sql(DEMO_DATABASE, schema, sql)
    tasks = demo_tasks()
    for body in tasks:
        service.create_task(DEMO_DATABASE, TASK_SCHEMA, body, create_mode="errorIfExists")
    roots = {NIGHTLY_ROOT, FAILING_ROOT, STANDALONE_TASK}
    for body in tasks:  # children (and the finalizer) first: the root must be suspended
        if body["name"] not in roots and body["name"] not in SUSPENDED_TASKS:
            service.resume_task(DEMO_DATABASE, TASK_SCHEMA, body["name"])
    for name in (NIGHTLY_ROOT, FAILING_ROOT, STANDALONE_TASK):
        service.resume_task(DEMO_DATABASE, TASK_SCHEMA, name)
    if manual:
        runs = list(service.advance(HISTORY - RENAMED_BEFORE_END))
        # the source team renames the ad spend table; LOAD_AD_SPEND still reads the old name
        service.run_sql(DEMO_DATABASE, RAW_SCHEMA, _RENAME_SOURCE)
        runs += service.advance(RENAMED_BEFORE_END)
        # "someone re-ran the failing graph this morning": a failure inside the
        # 60-minute window of COMPLETE_TASK_GRAPHS, so the REST view shows it too
        rerun = service.execute_task(DEMO_DATABASE, TASK_SCHEMA, FAILING_ROOT, wait=True)
        return runs + ([rerun] if rerun is not None else [])
    service.run_sql(DEMO_DATABASE, RAW_SCHEMA, _RENAME_SOURCE)
    runs = []
    for name in (NIGHTLY_ROOT, FAILING_ROOT, STANDALONE_TASK):
        run = service.execute_task(DEMO_DATABASE, TASK_SCHEMA, name, wait=True)
        if run is not None:
            runs.append(run)
    return runs


# ------------------------------------------------------------------------- cached builds


def demo_cache_dir(environ: dict[str, str] | None = None) -> Path:
    """Where demo builds are cached: ``$TASKNB_CACHE_DIR``, else ``$XDG_CACHE_HOME/tasknb``,
    else ``~/.cache/tasknb``.

        >>> demo_cache_dir({"TASKNB_CACHE_DIR": "/tmp/tn"}).as_posix()
        '/tmp/tn'
    """
    env = os.environ if environ is None else environ
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV]).expanduser()
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "tasknb"


def _build_key() -> str:
    """Changes whenever the demo's definition or the store's format could have changed."""
    from tasknb.local import store

    digest = hashlib.sha256()
    for module_file in (__file__, store.__file__):
        digest.update(Path(module_file).read_bytes())
    return digest.hexdigest()[:16]


def _fresh_builds(cache: Path, key: str, now: float) -> list[Path]:
    """This key's builds younger than BUILD_MAX_AGE, newest first."""
    found = []
    for path in cache.glob(f"{_BUILD_PREFIX}{key}-*"):
        stamp = path.name.rsplit("-", 1)[-1]
        if stamp.isdigit() and now - int(stamp) < BUILD_MAX_AGE.total_seconds():
            found.append((int(stamp), path))
    return [path for _, path in sorted(found, reverse=True)]


def _forget_old_builds(cache: Path, now: float) -> None:
    """Remove builds no reader will pick again (best effort: another process may race us)."""
    for path in cache.glob(f"{_BUILD_PREFIX}*-*"):
        stamp = path.name.rsplit("-", 1)[-1]
        if stamp.isdigit() and now - int(stamp) > 2 * BUILD_MAX_AGE.total_seconds():
            shutil.rmtree(path, ignore_errors=True)


def _build(cache: Path, key: str) -> Path:
    """Simulate the history once (clock from HISTORY ago to now) into a new cached build."""
    from tasknb.local.schedule.clock import ManualClock
    from tasknb.local.service import Service

    work = Path(tempfile.mkdtemp(prefix=".building-", dir=cache))
    try:
        service = Service(work, clock=ManualClock(datetime.now(timezone.utc) - HISTORY))
        try:
            seed_demo(service)
            service.wait_idle()
        finally:
            service.close()
        final = cache / f"{_BUILD_PREFIX}{key}-{int(time.time())}"
        os.replace(work, final)  # atomic: a reader sees a whole build or none
        return final
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def copy_demo_build(data_dir: str | Path, cache: Path | None = None) -> bool:
    """Fill an empty ``data_dir`` with the demo: a copy of a cached build, built when missing.

    Returns False (and leaves ``data_dir`` alone) when it already holds a server's state or
    the cache cannot be written; then the caller seeds in place. A build ends at the time it
    was made (at most :data:`BUILD_MAX_AGE` ago): start the server's clock at the present.
    """
    from tasknb.local.store import STATE_FILE

    target = Path(data_dir)
    if (target / STATE_FILE).exists():
        return False
    cache = demo_cache_dir() if cache is None else cache
    key = _build_key()
    try:
        cache.mkdir(parents=True, exist_ok=True, mode=0o700)
        now = time.time()
        builds = _fresh_builds(cache, key, now)
        source = builds[0] if builds else _build(cache, key)
        _forget_old_builds(cache, now)
    except OSError:
        return False
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    for item in source.iterdir():
        if item.name in _SKIPPED_FILES:
            continue
        if item.is_dir():
            shutil.copytree(item, target / item.name, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target / item.name)
    return True
