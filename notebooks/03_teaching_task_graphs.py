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
# # 03 · Task graphs, step by step
#
# We build a small task graph, run it by hand, put it on a schedule and fast-forward the clock to
# watch schedules and conditions play out. The rules you will meet are Snowflake's own.
#
# On the embedded local server the clock is **manual**: `notebook.advance("3 minutes")` jumps
# ahead and runs whatever was scheduled in between, at once. Everything here works on its own
# `TEACH_*` tasks (the first cell drops any left from an earlier run), so the other notebooks
# and a second run are not disturbed.
#
# **On your account** (set `CONNECTION`) the same cells create five `TEACH_*` tasks in your
# connection's schema and wait for real, with a progress bar (about ten minutes in all; any
# wait can be interrupted). The next cell says what that needs and costs before anything is
# created: `CREATE TASK` on the schema and `EXECUTE TASK`, plus `USAGE` on the connection's
# warehouse, or, when the connection names none, the `EXECUTE MANAGED TASK` privilege for
# serverless tasks.

# %%
CONNECTION = None  # set to a connection name from ~/.snowflake/connections.toml

# %%
import atexit

import pandas as pd
from IPython.display import display

import tasknb
from tasknb import notebook

client = notebook.client(CONNECTION)
print(notebook.describe(CONNECTION))
print(f"tasks in {client.database}.{client.schema}")
from tasknb import MinutesSchedule, Task, TasknbError
from tasknb.widgets import execute_and_wait

PREFIX = "TEACH_"
ACCOUNT = notebook.on_account(CONNECTION)  # a connection: treat it as someone's account
REAL_TIME = notebook.local_clock(client) != "manual"  # an account, or a local real clock
EXPECTED_RUNS = 1 if REAL_TIME else 3  # Snowflake only promises "not earlier than" the interval
# tasks run in the connection's warehouse when it has one; else serverless (managed compute)
WAREHOUSE = notebook.warehouse_of(client)
if ACCOUNT:
    compute = (f"in warehouse {WAREHOUSE} (from the connection): needs USAGE on it, and it "
               "resumes for the runs (warehouse credits)" if WAREHOUSE else
               "serverless (the connection names no warehouse): needs the EXECUTE MANAGED TASK "
               "account privilege, billed as serverless task compute")
    print(f"""On this account the notebook will, in {client.database}.{client.schema}:
  * create 5 tasks named {PREFIX}*: needs CREATE TASK on the schema (and EXECUTE TASK to run
    them); they run {compute};
  * run them by hand and on a 1-minute schedule for about 6 minutes: about 20 graph runs of
    trivial SELECTs (a few seconds of compute each);
  * suspend the schedule at step 7 and drop every {PREFIX}* task at the end, also when the
    kernel stops after a failed cell.""")


def drop_teaching_tasks():
    """Remove the TEACH_* tasks (the root is suspended first, as Snowflake requires)."""
    existing = client.list_tasks(starts_with=PREFIX)
    for task in existing:
        if task.role == "root" and task.state == "started":
            client.suspend_task(task.name)
    for task in sorted(existing, key=lambda t: t.role == "root"):
        client.delete_task(task.name, if_exists=True)
    return [task.name for task in existing]


print("dropped from an earlier run:", drop_teaching_tasks() or "nothing")  # start clean
if ACCOUNT:
    atexit.register(drop_teaching_tasks)  # finally: cleaned up when the kernel stops, too

# %% [markdown]
# ## 1 · A root task
#
# A task is one SQL statement plus, for a root, a schedule. This root stands for an extract: it
# *returns* how many new rows it found (`SYSTEM$SET_RETURN_VALUE`), so that its children can
# decide whether to run. For now it finds none.
#
# **Every new task starts suspended.**

# %%
client.create_task(Task(
    "TEACH_EXTRACT",
    "SELECT SYSTEM$SET_RETURN_VALUE('0')",
    schedule=MinutesSchedule(1),
    warehouse=WAREHOUSE,
    comment="extract: returns the number of new rows",
))
tasknb.tasks_df(client, starts_with=PREFIX)[["name", "role", "state", "schedule", "warehouse"]]

# %% [markdown]
# ## 2 · Children, conditions and a finalizer
#
# * `TEACH_TRANSFORM` runs after the extract, **when** it returned more than zero rows;
# * `TEACH_ALERT` runs after the extract **when** it returned zero rows, and fails on purpose,
#   so that an empty load shows up as a failed run;
# * `TEACH_LOAD` runs after the transform;
# * `TEACH_CLEANUP` is the **finalizer**: it runs at the end of every run, success or not.

# %%
rows = "SYSTEM$GET_PREDECESSOR_RETURN_VALUE('TEACH_EXTRACT')::INT"
client.create_task(Task("TEACH_TRANSFORM", "SELECT 1", predecessors=["TEACH_EXTRACT"],
                        condition=f"{rows} > 0", warehouse=WAREHOUSE))
client.create_task(Task("TEACH_ALERT", "SELECT TO_NUMBER('no new rows')",
                        predecessors=["TEACH_EXTRACT"], condition=f"{rows} = 0",
                        warehouse=WAREHOUSE, comment="fails on purpose when nothing was extracted"))
client.create_task(Task("TEACH_LOAD", "SELECT 2", predecessors=["TEACH_TRANSFORM"],
                        warehouse=WAREHOUSE))
client.create_task(Task("TEACH_CLEANUP", "SELECT 3", finalize="TEACH_EXTRACT",
                        warehouse=WAREHOUSE))
tasknb.dependents_df(client, "TEACH_EXTRACT")[["task", "depth", "role", "state", "condition"]]

# %%
tasknb.draw_graph(client, "TEACH_EXTRACT")

# %% [markdown]
# ## 3 · Run it by hand, while everything is suspended
#
# A suspended root (or standalone task) can be executed: that is how you test a graph. Executing
# does **not** resume the children: suspended children are skipped, as if they had succeeded.
# The graph run succeeds, though only the root ran.

# %%
first = execute_and_wait(client, "TEACH_EXTRACT")
print(first.state, "graph version", first.graph_version)
assert first.state == "SUCCEEDED"

# %% [markdown]
# ## 4 · Resume: children first, then the root
#
# Once the root is started, the graph is locked: resuming, suspending or changing any of its
# tasks is refused (error 091421). So the children go first.

# %%
client.resume_task("TEACH_EXTRACT")
try:
    client.resume_task("TEACH_TRANSFORM")
except TasknbError as error:
    print("refused:", str(error).split(" (")[0])
client.suspend_task("TEACH_EXTRACT")
for name in ("TEACH_TRANSFORM", "TEACH_ALERT", "TEACH_LOAD", "TEACH_CLEANUP"):
    client.resume_task(name)
client.resume_task("TEACH_EXTRACT")
tasknb.tasks_df(client, starts_with=PREFIX)[["name", "role", "state"]]

# %% [markdown]
# The root is on its schedule now; `current-graphs` shows the next scheduled run.

# %%
[(run.state, run.scheduled_time.strftime("%H:%M:%S")) for run in client.get_current_graphs("TEACH_EXTRACT")]

# %% [markdown]
# ## 5 · Fast-forward: the schedule fires, the condition decides
#
# Three minutes later there are three more runs. The extract returned 0 each time, so
# `TEACH_ALERT` ran and failed the run, and `TEACH_TRANSFORM` (and so `TEACH_LOAD`) was skipped.

# %%
notebook.advance("3 minutes")
runs = tasknb.runs_df(client, "TEACH_EXTRACT", include_current=False)
runs[["state", "scheduled_time", "graph_version", "first_error_task_name", "first_error_message"]]

# %%
scheduled = runs[runs["scheduled_time"] > pd.Timestamp(first.scheduled_time)]
assert len(scheduled) >= EXPECTED_RUNS and set(scheduled["state"]) == {"FAILED"}
assert set(scheduled["first_error_task_name"].str.split(".").str[-1]) == {"TEACH_ALERT"}

# %% [markdown]
# A graph run records only its first error. The per-task rows (`task_runs_df`, from
# `TASK_HISTORY`) show what each task did in the latest run: the condition **skipped**
# `TEACH_TRANSFORM`, `TEACH_ALERT` ran and failed, `TEACH_LOAD` has no row at all (it never
# ran: its predecessor was skipped), and the finalizer ran anyway.

# %%
latest_run = int(scheduled.sort_values("scheduled_time")["run_id"].iloc[-1])
steps = tasknb.task_runs_df(client, "TEACH_EXTRACT", run=latest_run)
by_task = dict(zip(steps["name"], steps["state"]))
assert by_task["TEACH_TRANSFORM"] == "SKIPPED" and by_task["TEACH_ALERT"] == "FAILED", by_task
assert "TEACH_LOAD" not in by_task and by_task["TEACH_CLEANUP"] == "SUCCEEDED", by_task
steps[["name", "state", "condition_text", "return_value", "error_message"]]

# %%
tasknb.timeline(client, "TEACH_EXTRACT", run=latest_run)

# %% [markdown]
# ## 6 · Change the graph: suspend, alter, resume
#
# New rows arrive: the extract now returns 42. Changing a task of a started graph is refused, so
# we suspend the root, change the task (`create_or_alter_task` replaces its whole definition)
# and resume. The next runs use a **new graph version**.

# %%
client.suspend_task("TEACH_EXTRACT")
extract = client.fetch_task("TEACH_EXTRACT")
extract.definition = "SELECT SYSTEM$SET_RETURN_VALUE('42')"
client.create_or_alter_task(extract)
client.resume_task("TEACH_EXTRACT")
notebook.advance("3 minutes")
runs = tasknb.runs_df(client, "TEACH_EXTRACT", include_current=False)
runs[["state", "scheduled_time", "graph_version", "first_error_task_name"]]

# %%
newest = runs[runs["graph_version"] == runs["graph_version"].max()]
assert len(newest) >= EXPECTED_RUNS and set(newest["state"]) == {"SUCCEEDED"}, newest
assert newest["graph_version"].min() > scheduled["graph_version"].max()
display(tasknb.run_history(runs))

# %% [markdown]
# Now the condition skips the alert instead, and the transform and load run: the failures stop
# and the version went up by one. Per task, in the latest run:

# %%
latest_run = int(newest.sort_values("scheduled_time")["run_id"].iloc[-1])
steps = tasknb.task_runs_df(client, "TEACH_EXTRACT", run=latest_run)
by_task = dict(zip(steps["name"], steps["state"]))
assert by_task["TEACH_ALERT"] == "SKIPPED" and by_task["TEACH_LOAD"] == "SUCCEEDED", by_task
steps[["name", "state", "condition_text", "return_value"]]
#
# ## 7 · Suspend: the schedule stops
#
# Suspending the root cancels its future runs (a run already executing would finish). Fast
# forward again: nothing new.

# %%
client.suspend_task("TEACH_EXTRACT")
before = len(tasknb.runs_df(client, "TEACH_EXTRACT", include_current=False))
notebook.advance("3 minutes")
after = len(tasknb.runs_df(client, "TEACH_EXTRACT", include_current=False))
print(f"runs before: {before}, after three more minutes: {after}")
assert after <= before  # no new runs (older ones may leave the recent-history window)

# %% [markdown]
# ## 8 · Play with it
#
# The control panel offers the same actions with their rules built in: Resume is enabled (the
# root is suspended), Suspend is not, and Execute asks for confirmation, then follows the run.

# %%
# NBVAL_IGNORE_OUTPUT
panel = tasknb.TaskPanel(client, "TEACH_EXTRACT")
display(panel)

# %%
assert panel.buttons["suspend"].disabled and not panel.buttons["resume"].disabled
print(panel.buttons["suspend"].tooltip)

# %% [markdown]
# ## Clean up
#
# On the local server the teaching tasks stay, so that the panel above keeps working; the first
# cell drops them the next time this notebook runs. Through a connection (an account) this cell
# drops them now (the panel then has nothing left to act on), and the same clean-up runs when
# the kernel stops, whichever cell it stopped at.

# %%
if not ACCOUNT:
    print("kept for the panel:", ", ".join(t.name for t in client.list_tasks(starts_with=PREFIX)))
else:
    print("dropped:", ", ".join(drop_teaching_tasks()))
    assert client.list_tasks(starts_with=PREFIX) == []
