# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Explore tasks and graph runs
#
# Your Snowflake tasks and their graph runs as pandas DataFrames you can filter, group and plot.
#
# * **Default:** the embedded local Task server with the demo data (three graphs and a week of
#   history), started for this kernel. Nothing to set up.
# * **Your account:** put a connection name from `~/.snowflake/connections.toml` in the first
#   cell. Nothing else changes. The week of history and the per-task rows are read through SQL,
#   which on Snowflake needs a warehouse on the connection.
#
# This notebook only reads: it changes no task and does not move the clock, so the other
# notebooks find the demo as they expect, in any order.

# %%
CONNECTION = None  # set to a connection name from ~/.snowflake/connections.toml

# %%
import pandas as pd
from IPython.display import display

import tasknb
from tasknb import notebook

client = notebook.client(CONNECTION)
print(notebook.describe(CONNECTION))
print(f"tasks in {client.database}.{client.schema}")

# %% [markdown]
# ## Tasks, one row each
#
# `tasks_df` has one row per task with typed columns: `state` and `role` are categoricals,
# timestamps are timezone-aware, `predecessors` are lists and the schedule is readable text.

# %%
tasks = tasknb.tasks_df(client)
assert str(tasks["state"].dtype) == "category" and str(tasks["role"].dtype) == "category"
tasks[["name", "role", "state", "schedule", "predecessors", "warehouse", "comment"]]

# %% [markdown]
# How many roots, children and finalizers, and which are suspended (a suspended child is skipped in every run):

# %%
tasks.groupby(["role", "state"], observed=False).size().unstack(fill_value=0)

# %% [markdown]
# ## Graph runs of every root task: the recent ones (REST)
#
# `runs_df` takes one root or many. For many, it asks concurrently (bounded) and shows a progress
# bar; a root that fails to answer does not lose the others' rows, it is reported in
# `runs.attrs["error_summary"]`. The `duration_s` column is ready for plotting, and the error
# columns are first-class. Through REST, `complete-graphs` returns only the runs completed in
# the **past 60 minutes** (on Snowflake as on the local server).

# %%
roots = tasknb.tasks_df(client, root_only=True)["name"].tolist()
recent = tasknb.runs_df(client, roots)
print(recent.attrs["error_summary"] or f"{len(roots)} roots answered, {len(recent)} graph runs")
assert str(recent["state"].dtype) == "category" and str(recent["duration_s"].dtype) == "Float64"
recent[["root_task_name", "state", "scheduled_time", "duration_s", "first_error_task_name",
        "first_error_message"]].head(10)

# %% [markdown]
# ## A week of history (SQL)
#
# `since="7 days"` reads the complete runs that far back through SQL instead:
# `COMPLETE_TASK_GRAPHS` for the last hour and `SNOWFLAKE.ACCOUNT_USAGE.COMPLETE_TASK_GRAPHS`
# before it (a year of history; on Snowflake it lags by up to ~45 minutes). The `source`
# column says where each row came from.

# %%
runs = tasknb.runs_df(client, roots, since="7 days", include_current=False)
print(runs.attrs["error_summary"] or f"{len(runs)} graph runs in the past 7 days")
print(runs["source"].value_counts().to_dict())
runs["root_task_name"].value_counts()

# %% [markdown]
# ## Outcomes
#
# One row per root: a square per run (newest first, hover for the time and the first error) and
# the counts per state. The same counts as a table follow.

# %%
display(tasknb.run_history(runs))
pd.crosstab(runs["root_task_name"], runs["state"])

# %% [markdown]
# ## Durations
#
# Graph-run duration is the time from the root's query start to the last task's completion. The
# charts below are plain SVG (no plotting library needed): one dot per run, coloured by outcome,
# with the 95th percentile dashed. With matplotlib installed, pandas plots work as usual too, for
# example `runs.plot.scatter(x="scheduled_time", y="duration_s")`.

# %%
summary = runs.groupby("root_task_name", observed=True)["duration_s"].describe()
summary[["count", "mean", "50%", "max"]]

# %%
for root in sorted(runs["root_task_name"].dropna().unique()):
    display(tasknb.duration_chart(runs[runs["root_task_name"] == root], title=root))

# %% [markdown]
# Runs slower than their root's 95th percentile are worth a look:

# %%
seconds = runs["duration_s"].astype("float64")  # NaN while a run is still going
p95 = seconds.groupby(runs["root_task_name"], observed=True).transform(lambda s: s.quantile(0.95))
runs.loc[seconds > p95, ["root_task_name", "scheduled_time", "duration_s", "state"]]

# %% [markdown]
# ## The slowest run, task by task
#
# A graph run's duration is the sum of its path: which task took the time? `task_runs_df`
# gives one row per task of a run (from `TASK_HISTORY`, through SQL) and `timeline` draws them
# as bars from start to end, coloured by state; tasks that did not run are hollow marks.

# %%
finished = runs.dropna(subset=["duration_s"]).sort_values("duration_s")
slowest = finished.iloc[-1] if len(finished) else None
steps = None
if slowest is not None:
    SLOW_ROOT, SLOW_RUN = slowest["root_task_name"], int(slowest["run_id"])
    print(f"slowest: {SLOW_ROOT} run {SLOW_RUN}, {slowest['duration_s']:.3f} s, "
          f"{slowest['state']}, scheduled {slowest['scheduled_time']:%Y-%m-%d %H:%M}")
    steps = tasknb.task_runs_df(client, SLOW_ROOT, run=SLOW_RUN)
    assert set(steps["run_id"]) == {SLOW_RUN}
    display(steps[["name", "state", "attempt_number", "query_start_time", "duration_s",
                   "error_code"]])
else:
    print("No finished graph run in the past 7 days.")

# %%
tasknb.timeline(client, SLOW_ROOT, run=SLOW_RUN) if slowest is not None else None

# %% [markdown]
# ## One graph, as rows and as a drawing
#
# `dependents_df` lists the graph under a root (depth, predecessors, children, state);
# `draw_graph` draws it left to right, coloured by state and by the latest run, with the
# finalizer apart and a legend. We pick the root with the largest graph.

# %%
sizes = {root: len(client.fetch_task_dependents(root)) for root in roots}
GRAPH_ROOT = max(sizes, key=sizes.get) if sizes else None
print(GRAPH_ROOT, sizes)
tasknb.dependents_df(client, GRAPH_ROOT) if GRAPH_ROOT else None

# %%
tasknb.draw_graph(client, GRAPH_ROOT) if GRAPH_ROOT else None

# %% [markdown]
# Next: `02_investigate_failures.ipynb` goes from a failed run to its cause and back to green;
# `03_teaching_task_graphs.ipynb` builds a graph step by step and fast-forwards the clock.
