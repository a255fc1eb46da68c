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
# # 02 · Investigate failures: from a failed run to its cause, and back to green
#
# The path a data engineer takes the morning after:
#
# 1. find the failed graph runs of the past week,
# 2. drill down into one run: **every** task that failed in it, its error and its definition,
#    and the run's timeline,
# 3. fix the cause and **retry last** (re-run only what failed),
# 4. make the fix last by changing the task's definition,
# 5. keep an eye on the graph in a control panel.
#
# On the local server (the default) the demo graph `MARKETING_METRICS` fails for real
# reasons, in two tasks of the same run. On your account (set `CONNECTION`), steps 1, 2 and 5
# work on your own failures; steps 3 and 4 are the demo's fix and are skipped. Steps 1 and 2
# read history through SQL: on Snowflake the connection needs a warehouse.

# %%
CONNECTION = None  # set to a connection name from ~/.snowflake/connections.toml

# %%
from IPython.display import display

import tasknb
from tasknb import notebook

client = notebook.client(CONNECTION)
print(notebook.describe(CONNECTION))
print(f"tasks in {client.database}.{client.schema}")
from tasknb.models import Task
from tasknb.widgets import execute_and_wait

roots = tasknb.tasks_df(client, root_only=True)["name"].tolist()
# the demo's edits (steps 3 and 4) run only on tasknb's local server, never on an account
DEMO = notebook.on_local_server(client) and "MARKETING_METRICS" in roots
print("roots:", ", ".join(roots), "| demo fixes:", "on" if DEMO else "off (not the local demo)")


def describe_run(run):
    """One line for a graph run (instead of its full repr)."""
    attempt = run.extra.get("attempt_number")
    took = f"{run.duration.total_seconds():.3f} s" if run.duration is not None else "running"
    line = f"{run.root_task_name} run {run.run_id}"
    line += f" attempt {attempt}" if attempt is not None else ""
    return f"{line}: {run.state} in {took}, graph version {run.graph_version}"


# %% [markdown]
# *Demo only:* if this notebook already ran against this server, the next cell puts the demo's
# two bugs back (and drops the compatibility view of step 3), so that the story starts over.

# %%
def restore_demo_bugs():
    """Undo the fixes of an earlier run of this notebook (local demo data only)."""
    from tasknb.local.seed import demo_tasks

    original = {t["name"]: t["definition"] for t in demo_tasks()}
    fixed = [t for t in (client.fetch_task("LOAD_AD_SPEND"), client.fetch_task("COMPUTE_CONVERSION"))
             if t.definition != original[t.name]]
    root = client.fetch_task("MARKETING_METRICS")
    if fixed:
        if root.state == "started":
            client.suspend_task("MARKETING_METRICS")
        for task in fixed:
            task.definition = original[task.name]
            client.create_or_alter_task(task)
    if client.fetch_task("MARKETING_METRICS").state != "started":
        client.resume_task("MARKETING_METRICS")  # the demo's graph runs on its schedule
    client.create_or_alter_task(Task("DEMO_RESET", "DROP VIEW IF EXISTS DEMO_DB.RAW.AD_SPEND",
                                     warehouse="DEMO_WH"))
    execute_and_wait(client, "DEMO_RESET")
    client.delete_task("DEMO_RESET")
    return [task.name for task in fixed]


if DEMO:
    print("restored:", restore_demo_bugs() or "nothing to restore")

# %% [markdown]
# ## 1 · Which runs failed this week?
#
# `error_only=True` keeps the FAILED and CANCELLED runs; `since="7 days"` reads them through
# SQL (REST alone keeps only the past hour). The first error is all a graph run records: the
# first task that failed, its error code and message.

# %%
failures = tasknb.runs_df(client, roots, error_only=True, since="7 days", include_current=False)
print(f"{len(failures)} failed graph runs in the past 7 days")
failures[["root_task_name", "scheduled_time", "first_error_task_name", "first_error_code",
          "first_error_message"]].head(10)

# %% [markdown]
# Did it fail again this morning? On the demo we run the graph once now: `execute_and_wait`
# starts one graph run and returns it when it has finished. On an account we take the latest
# failed run.

# %%
if DEMO:
    ROOT = "MARKETING_METRICS"
    failed = execute_and_wait(client, ROOT)
    assert failed.state == "FAILED", describe_run(failed)
elif len(failures):
    latest = failures.sort_values("completed_time").iloc[-1]
    ROOT = latest["root_task_name"]
    failed = next(r for r in client.complete_graph_history(ROOT, since="7 days", error_only=True)
                  if r.run_id == int(latest["run_id"]))
else:
    ROOT, failed = None, None
    print("No failed graph run in the past 7 days: nothing to investigate.")
if failed is not None:
    print(describe_run(failed))
    print(f"first error: {failed.first_error_task_name} ({failed.first_error_code})")

# %% [markdown]
# ## 2 · Every task of that run
#
# The first error is only the first. `task_runs_df` reads one row per task of the run from
# `TASK_HISTORY`: its state, attempt, duration, query id and error. Here **two** tasks failed
# in the same run, for different reasons.

# %%
if failed is not None:
    steps = tasknb.task_runs_df(client, ROOT, run=failed)
    errors = steps[steps["state"].isin(["FAILED", "FAILED_AND_AUTO_SUSPENDED"])]
    display(steps[["name", "state", "attempt_number", "duration_s", "error_code",
                   "error_message", "query_id"]])
    if DEMO:
        assert set(errors["name"]) == {"LOAD_AD_SPEND", "COMPUTE_CONVERSION"}, errors
        assert set(errors["error_code"]) == {"002003", "100051"}, errors

# %% [markdown]
# The run as a timeline: one bar per task from its start to its end, the failing tasks marked,
# and `BUILD_FUNNEL`, which waited on both, never ran.

# %%
tasknb.timeline(client, ROOT, run=failed) if failed is not None else None

# %% [markdown]
# Each failing task's definition says what went wrong:

# %%
if failed is not None:
    for _, row in errors.iterrows():
        culprit = client.fetch_task(row["name"])
        print(f"== {culprit.name} failed with {row['error_code']}: "
              f"{' '.join(str(row['error_message']).split())}")
        print(f"-- comment: {culprit.comment}")
        print(f"{culprit.definition}\n")

# %% [markdown]
# The same in a panel: filter the runs by state and time, pick a failed run, and see its tasks
# with their errors and definitions. **Retry this run** is offered only for the latest run,
# and only when it failed (that is what RETRY LAST can do).

# %%
# NBVAL_IGNORE_OUTPUT
explorer = tasknb.RunExplorer(client, ROOT) if ROOT else None
if explorer is not None:
    display(explorer)

# %% [markdown]
# ## 3 · Fix the first cause, then retry last
#
# `LOAD_AD_SPEND` reads `RAW.AD_SPEND`, but the source team renamed it to
# `RAW.MARKETING_SPEND` two days ago (error 002003). RETRY LAST
# (`execute_task(..., retry_last=True)`) re-runs only the failed tasks and what depends on
# them, in a new attempt of the same run, **provided the graph has not been modified since
# that run**. So the quick fix restores what the task expects without touching the graph: a
# compatibility view. We run that one statement through a one-off standalone task (on
# Snowflake you could also run it in a worksheet).

# %%
if DEMO:
    client.create_or_alter_task(Task(
        "RESTORE_AD_SPEND",
        "CREATE OR REPLACE VIEW DEMO_DB.RAW.AD_SPEND AS SELECT * FROM DEMO_DB.RAW.MARKETING_SPEND",
        warehouse="DEMO_WH",
        comment="one-off: compatibility view for the renamed source",
    ))
    view = execute_and_wait(client, "RESTORE_AD_SPEND")
    client.delete_task("RESTORE_AD_SPEND")
    print("compatibility view:", view.state)

# %%
if DEMO:
    retried = execute_and_wait(client, ROOT, retry_last=True)
    print(describe_run(retried))
    assert retried.run_id == failed.run_id  # a retry is a new attempt of the same run
    attempts = tasknb.task_runs_df(client, ROOT, run=failed)
    display(attempts[["name", "state", "attempt_number", "error_code", "error_message"]])
    again = attempts[(attempts["attempt_number"] == 2) & (attempts["state"] == "FAILED")]
    assert set(again["name"]) == {"COMPUTE_CONVERSION"}, attempts

# %% [markdown]
# Attempt 2 ran only the tasks that had failed, and what waited on them: `LOAD_AD_SPEND` now
# succeeds, but `COMPUTE_CONVERSION` fails again. That is a bug in its definition, not in the
# data: the affiliate channel has had no sessions since its tracking pixel went down, and the
# task divides by the number of sessions.
#
# ## 4 · Make the fix last: change the definitions
#
# The view is a patch. The real fix points `LOAD_AD_SPEND` at the new source, and guards the
# division in `COMPUTE_CONVERSION` (100051).
#
# Changing any task of a graph needs its **root suspended** (Snowflake answers 091421 otherwise).
# The change makes a new graph version; RETRY LAST never retries across versions, so the next
# run is a fresh one.

# %%
if DEMO:
    client.suspend_task(ROOT)
    for name, old, new in [
        ("LOAD_AD_SPEND", "RAW.AD_SPEND", "RAW.MARKETING_SPEND"),
        ("COMPUTE_CONVERSION", "conversions / sessions", "DIV0(conversions, sessions)"),
    ]:
        task = client.fetch_task(name)
        assert old in task.definition, task.definition
        task.definition = task.definition.replace(old, new)
        client.create_or_alter_task(task)
        print(f"{name}: {old} -> {new}")
    client.resume_task(ROOT)
    print(ROOT, client.fetch_task(ROOT).state)

# %%
if DEMO:
    fresh = execute_and_wait(client, ROOT)
    print(describe_run(fresh))
    assert fresh.state == "SUCCEEDED" and fresh.graph_version > failed.graph_version
    display(tasknb.runs_df(client, ROOT)[["state", "scheduled_time", "duration_s",
                                          "graph_version", "first_error_task_name"]])

# %%
tasknb.timeline(client, ROOT, run=fresh) if DEMO else None

# %% [markdown]
# ## 5 · The control panel
#
# State, drawing, recent runs and the four actions. A button is enabled only when its action is
# valid, and says why when it is not (hover it, or read the grey line). **Execute** and
# **Suspend** take two steps and list what they affect before **Confirm**. After Execute the
# panel follows the run live, without blocking the notebook, and redraws when it ends.

# %%
# NBVAL_IGNORE_OUTPUT
panel = tasknb.TaskPanel(client, ROOT) if ROOT else None
if panel is not None:
    display(panel)

# %%
if panel is not None:
    assert not panel.buttons["execute"].disabled
    print({action: button.tooltip for action, button in panel.buttons.items()})
