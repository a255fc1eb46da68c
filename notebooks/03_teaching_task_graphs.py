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
# watch schedules and conditions play out, then build a change-data-capture pipeline: a stream on a
# table, a stored procedure that merges it, and a task that runs only when the stream has data.
# The rules you will meet are Snowflake's own.
#
# On the embedded local server the clock is **manual**: `notebook.advance("3 minutes")` jumps
# ahead and runs whatever was scheduled in between, at once. Everything here works on its own
# `TEACH_*` tasks (the first cell drops any left from an earlier run), so the other notebooks
# and a second run are not disturbed.
#
# **On your account** (set `CONNECTION`) the same cells create seven `TEACH_*` tasks, two
# tables, a stream and a procedure in your connection's schema and wait for real, with a progress
# bar (about ten minutes in all; any wait can be interrupted). The next cell says what that needs
# and costs before anything is created: `CREATE TASK`, `CREATE TABLE`, `CREATE STREAM` and
# `CREATE PROCEDURE` on the schema and `EXECUTE TASK`, plus `USAGE` on the connection's
# warehouse (the SQL statements run in it), or, for the tasks, when the connection names none,
# the `EXECUTE MANAGED TASK` privilege for serverless tasks.

# %%
CONNECTION = None  # set to a connection name from ~/.snowflake/connections.toml

# %%
import atexit
import time

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
    sql_compute = (f"in the connection's warehouse {WAREHOUSE}" if WAREHOUSE else
                   "in a warehouse: set warehouse = ... on the connection first")
    print(f"""On this account the notebook will, in {client.database}.{client.schema}:
  * create 7 tasks named {PREFIX}*: needs CREATE TASK on the schema (and EXECUTE TASK to run
    them); they run {compute};
  * create 2 tables, a stream and a SQL procedure named {PREFIX}* at step 8: needs CREATE
    TABLE, CREATE STREAM and CREATE PROCEDURE on the schema; its SQL statements (a few small
    INSERTs, UPDATEs and SELECTs) run {sql_compute};
  * run them by hand and on a 1-minute schedule for about 6 minutes: about 20 graph runs of
    trivial SELECTs, and 3 runs of a small MERGE (the last one skipped, without compute);
  * suspend the schedule at step 7 and drop every {PREFIX}* task, table, stream and procedure
    at the end, also when the kernel stops after a failed cell.""")

# the change-data-capture objects of step 8, dropped after the tasks that use them
CDC_OBJECTS = [("PROCEDURE", "TEACH_MERGE_ORDERS(VARCHAR)"), ("STREAM", "TEACH_ORDERS_STREAM"),
               ("TABLE", "TEACH_ORDERS_MART"), ("TABLE", "TEACH_ORDERS")]


def drop_teaching_objects():
    """Drop the TEACH_* tasks (a started root is suspended first), then step 8's objects."""
    existing = client.list_tasks(starts_with=PREFIX)
    for task in existing:
        if task.role == "root" and task.state == "started":
            client.suspend_task(task.name)
    for task in sorted(existing, key=lambda t: t.role == "root"):
        client.delete_task(task.name, if_exists=True)
    for kind, name in CDC_OBJECTS:
        client.sql(f"DROP {kind} IF EXISTS {name}")
    return [task.name for task in existing]


print("dropped from an earlier run:", drop_teaching_objects() or "no tasks")  # start clean
if ACCOUNT:
    atexit.register(drop_teaching_objects)  # finally: cleaned up when the kernel stops, too

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

# %% [markdown]
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
# ## 8 · Change data capture: a stream, a procedure, a task that waits for data
#
# The pipeline Snowflake's documentation builds again and again:
#
# * a source table `TEACH_ORDERS` and a **stream** on it, `TEACH_ORDERS_STREAM`. A stream
#   records the changes to its table since its *offset*: each changed row, with
#   `METADATA$ACTION` (`INSERT` or `DELETE`) and `METADATA$ISUPDATE` (an update is a
#   `DELETE` and an `INSERT` of the same row). Reading it does not empty it; the offset moves
#   only when a DML statement that reads it (here a `MERGE`) commits;
# * a SQL **stored procedure** `TEACH_MERGE_ORDERS(loaded_by)` that merges the stream into a
#   target table `TEACH_ORDERS_MART`, sets the task's return value to the number of rows it
#   changed (`SYSTEM$SET_RETURN_VALUE`, what child tasks read) and `RETURN`s a sentence (what
#   a `CALL` answers);
# * a root task `TEACH_CDC_MERGE` that `CALL`s the procedure, **`WHEN
#   SYSTEM$STREAM_HAS_DATA('TEACH_ORDERS_STREAM')`**, and has no schedule: a **triggered
#   task**, which Snowflake, once it is resumed, runs by itself when the stream has data
#   (looking at most every 30 seconds). Here it stays suspended and we run it by hand. And a
#   child `TEACH_CDC_REPORT` that reads the root's return value with
#   `SYSTEM$GET_PREDECESSOR_RETURN_VALUE()`.
#
# Tables, stream and procedure are made with SQL (`client.sql`, the SQL API), the tasks with
# the client as before.

# %%
client.sql("CREATE OR REPLACE TABLE TEACH_ORDERS (id INT, item VARCHAR, qty INT)")
client.sql("CREATE OR REPLACE TABLE TEACH_ORDERS_MART "
           "(id INT, item VARCHAR, qty INT, loaded_by VARCHAR)")
client.sql("CREATE OR REPLACE STREAM TEACH_ORDERS_STREAM ON TABLE TEACH_ORDERS")
client.sql("""
CREATE OR REPLACE PROCEDURE TEACH_MERGE_ORDERS(loaded_by VARCHAR)
RETURNS VARCHAR
LANGUAGE SQL
AS
$$
BEGIN
  MERGE INTO TEACH_ORDERS_MART m USING TEACH_ORDERS_STREAM s ON m.id = s.id
    WHEN MATCHED AND s.METADATA$ACTION = 'DELETE' AND NOT s.METADATA$ISUPDATE THEN DELETE
    WHEN MATCHED AND s.METADATA$ACTION = 'INSERT' THEN
      UPDATE SET m.item = s.item, m.qty = s.qty, m.loaded_by = :loaded_by
    WHEN NOT MATCHED AND s.METADATA$ACTION = 'INSERT' THEN
      INSERT (id, item, qty, loaded_by) VALUES (s.id, s.item, s.qty, :loaded_by);
  LET merged VARCHAR := SQLROWCOUNT;
  CALL SYSTEM$SET_RETURN_VALUE(:merged);
  RETURN merged || ' rows merged into TEACH_ORDERS_MART';
END;
$$
""")
print("created:", ", ".join(f"{kind} {name}" for kind, name in reversed(CDC_OBJECTS)))

# %% [markdown]
# The two tasks: the root's condition is its `WHEN`; the drawing shows it under the name.

# %%
client.create_task(Task(
    "TEACH_CDC_MERGE",
    "CALL TEACH_MERGE_ORDERS('TEACH_CDC_MERGE')",
    condition="SYSTEM$STREAM_HAS_DATA('TEACH_ORDERS_STREAM')",
    warehouse=WAREHOUSE,
    # a serverless triggered task must say how soon a run should finish
    target_completion_interval=None if WAREHOUSE else MinutesSchedule(5),
    comment="triggered: runs when the stream has data",
))
client.create_task(Task(
    "TEACH_CDC_REPORT",
    "SELECT SYSTEM$SET_RETURN_VALUE("
    "'the merge changed ' || SYSTEM$GET_PREDECESSOR_RETURN_VALUE() || ' rows')",
    predecessors=["TEACH_CDC_MERGE"],
    warehouse=WAREHOUSE,
))
client.resume_task("TEACH_CDC_REPORT")  # the root stays suspended: we execute it by hand
tasknb.draw_graph(client, "TEACH_CDC_MERGE")

# %% [markdown]
# New orders arrive in the source. The stream now holds three `INSERT` rows, and
# `SYSTEM$STREAM_HAS_DATA` is true.

# %%
client.sql("INSERT INTO TEACH_ORDERS VALUES (1, 'pen', 1), (2, 'ink', 2), (3, 'pad', 3)")
client.sql("SELECT id, item, qty, METADATA$ACTION, METADATA$ISUPDATE "
           "FROM TEACH_ORDERS_STREAM ORDER BY id")

# %% [markdown]
# Run the graph by hand. The condition is true, so the root calls the procedure, which merges
# the three rows; the child reads the count the root returned.

# %%
first_merge = execute_and_wait(client, "TEACH_CDC_MERGE")
assert first_merge.state == "SUCCEEDED", first_merge
mart = client.sql("SELECT id, item, qty, loaded_by FROM TEACH_ORDERS_MART ORDER BY id")
assert mart["ITEM"].tolist() == ["pen", "ink", "pad"], mart
display(mart)

# %% [markdown]
# Change the source: one order's quantity goes up, another order is deleted. The stream shows
# the update as a `DELETE` and an `INSERT` of one row (`METADATA$ISUPDATE` true), and the
# deletion as a lone `DELETE`: it holds only the changes since the merge moved its offset.

# %%
client.sql("UPDATE TEACH_ORDERS SET qty = 5 WHERE item = 'pen'")
client.sql("DELETE FROM TEACH_ORDERS WHERE item = 'pad'")
client.sql("SELECT id, item, qty, METADATA$ACTION, METADATA$ISUPDATE "
           "FROM TEACH_ORDERS_STREAM ORDER BY id, METADATA$ACTION")

# %% [markdown]
# The second run merges those changes: the `MATCHED` branches of the `MERGE` update the pen
# and delete the pad. Per task: the root returned `2` (two rows changed), and the child read it.

# %%
second_merge = execute_and_wait(client, "TEACH_CDC_MERGE")
mart = client.sql("SELECT id, item, qty, loaded_by FROM TEACH_ORDERS_MART ORDER BY id")
assert second_merge.state == "SUCCEEDED", second_merge
assert list(zip(mart["ITEM"], mart["QTY"])) == [("pen", 5), ("ink", 2)], mart
display(mart)
steps = tasknb.task_runs_df(client, "TEACH_CDC_MERGE", run=second_merge)
by_task = dict(zip(steps["name"], steps["return_value"]))
assert by_task == {"TEACH_CDC_MERGE": "2", "TEACH_CDC_REPORT": "the merge changed 2 rows"}, steps
steps[["name", "state", "condition_text", "return_value"]]

# %% [markdown]
# ### The stream is empty now: the next run is skipped
#
# The merge consumed the stream, so `SYSTEM$STREAM_HAS_DATA` is false. Execute once more and
# look at the per-task rows. What to notice:
#
# * **the root is `SKIPPED`**, not failed: Snowflake evaluates the `WHEN` condition without a
#   warehouse (in its cloud services) and, when it is false, runs none of the task's SQL. No
#   warehouse resumes, and the procedure is not called;
# * the child has **no row**: a skipped task's children do not run;
# * the mart still holds its two rows, and a skipped root leaves no graph run in
#   `complete-graphs` (so we wait for its row in the task history instead).
#
# That is why `WHEN SYSTEM$STREAM_HAS_DATA(...)` goes on tasks that read a stream: an empty
# stream costs no warehouse time, whether the task is on a schedule or triggered.

# %%
print("stream has data:",
      client.sql("SELECT SYSTEM$STREAM_HAS_DATA('TEACH_ORDERS_STREAM') AS has_data")["HAS_DATA"][0])
client.execute_task("TEACH_CDC_MERGE")
for _ in range(60):  # the task history shows the run within seconds
    history = tasknb.task_runs_df(client, "TEACH_CDC_MERGE")
    skipped = history[history["run_id"] > second_merge.run_id]  # run ids grow with the start time
    if skipped["state"].isin(["SKIPPED", "SUCCEEDED", "FAILED", "CANCELLED"]).any():
        break
    time.sleep(1)
assert skipped["name"].tolist() == ["TEACH_CDC_MERGE"], skipped  # no row for the child
assert skipped["state"].tolist() == ["SKIPPED"], skipped
assert len(client.sql("SELECT id FROM TEACH_ORDERS_MART")) == 2  # nothing merged
skipped[["name", "state", "condition_text", "scheduled_from", "return_value"]]

# %% [markdown]
# ## 9 · Play with it
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
# On the local server the teaching tasks (and step 8's tables, stream and procedure) stay, so
# that the panel above keeps working; the first cell drops them the next time this notebook
# runs. Through a connection (an account) this cell drops them now (the panel then has nothing
# left to act on), and the same clean-up runs when the kernel stops, whichever cell it stopped
# at.

# %%
if not ACCOUNT:
    print("kept for the panel:", ", ".join(t.name for t in client.list_tasks(starts_with=PREFIX)))
else:
    print("dropped:", ", ".join(drop_teaching_objects()),
          "and", ", ".join(f"{kind} {name}" for kind, name in CDC_OBJECTS))
    assert client.list_tasks(starts_with=PREFIX) == []
