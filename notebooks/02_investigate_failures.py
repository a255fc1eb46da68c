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
# 1. find the failed graph runs,
# 2. drill down to the failing task, its error and its definition,
# 3. fix the cause and **retry last** (re-run only what failed),
# 4. make the fix last by changing the task's definition,
# 5. keep an eye on the graph in a control panel.
#
# On the embedded local server the demo graph `MARKETING_METRICS` fails for real reasons. On your
# account (set `CONNECTION`), steps 1, 2 and 5 work on your own failures; steps 3 and 4 are the
# demo's fix and are skipped.

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
DEMO = "MARKETING_METRICS" in roots  # the demo's failing graph is here
print("roots:", ", ".join(roots))


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
    if fixed:
        client.suspend_task("MARKETING_METRICS")
        for task in fixed:
            task.definition = original[task.name]
            client.create_or_alter_task(task)
        client.resume_task("MARKETING_METRICS")
    client.create_or_alter_task(Task("DEMO_RESET", "DROP VIEW IF EXISTS DEMO_DB.RAW.AD_SPEND",
                                     warehouse="DEMO_WH"))
    execute_and_wait(client, "DEMO_RESET")
    client.delete_task("DEMO_RESET")
    return [task.name for task in fixed]


if DEMO:
    print("restored:", restore_demo_bugs() or "nothing to restore")

# %% [markdown]
# ## 1 · Which runs failed?
#
# `error_only=True` asks `complete-graphs` for FAILED and CANCELLED runs only. The first error is
# all REST knows about a graph run: the first task that failed, its error code and message.

# %%
failures = tasknb.runs_df(client, roots, error_only=True)
failures[["root_task_name", "scheduled_time", "first_error_task_name", "first_error_code",
          "first_error_message"]]

# %% [markdown]
# REST history is recent history (the past hour on Snowflake), so a failure from last night may
# be out of sight. On the demo we run the graph once now, to see whether it still fails:
# `execute_and_wait` starts one graph run and returns it when it has finished.

# %%
if DEMO:
    ROOT = "MARKETING_METRICS"
    failed = execute_and_wait(client, ROOT)
    assert failed.state == "FAILED", failed
elif len(failures):
    latest = failures.sort_values("completed_time").iloc[-1]
    ROOT = latest["root_task_name"]
    failed = next(iter(client.get_complete_graphs(ROOT, error_only=True)))
else:
    ROOT, failed = None, None
    print("No failed graph run in the recent history: nothing to investigate.")
if failed is not None:
    display(failed)

# %% [markdown]
# ## 2 · Drill down: the failing task, its error and its definition

# %%
if failed is not None:
    culprit = client.fetch_task(failed.first_error_task_name.split(".")[-1])
    print(f"{culprit.name} failed with {failed.first_error_code}:")
    print("   ", failed.first_error_message.replace("\n", "\n    "))
    print(f"\n-- definition of {culprit.name} --\n{culprit.definition}")
    print(f"\n-- comment --\n{culprit.comment}")

# %% [markdown]
# The same in a panel: filter the runs by state and time, pick a failed run, and see the failing
# task with its error and definition. **Retry this run** is offered only for the latest run, and
# only when it failed (that is what RETRY LAST can do).

# %%
# NBVAL_IGNORE_OUTPUT
explorer = tasknb.RunExplorer(client, ROOT) if ROOT else None
if explorer is not None:
    explorer.state_filter.value = ("FAILED",)
    explorer.picker.value = explorer.picker.options[0][1]
    display(explorer)

# %% [markdown]
# ## 3 · Fix the cause, then retry last
#
# The demo's `LOAD_AD_SPEND` reads `RAW.AD_SPEND`, but the source was renamed to
# `RAW.MARKETING_SPEND` (error 002003). RETRY LAST (`execute_task(..., retry_last=True)`) re-runs
# only the failed tasks and what depends on them, in a new attempt of the same run, **provided
# the graph has not been modified since that run**. So the quick fix restores what the task
# expects without touching the graph: a compatibility view. We run that one statement through a
# one-off standalone task (on Snowflake you could also run it in a worksheet).

# %%
if DEMO:
    client.create_or_alter_task(Task(
        "RESTORE_AD_SPEND",
        "CREATE OR REPLACE VIEW DEMO_DB.RAW.AD_SPEND AS SELECT * FROM DEMO_DB.RAW.MARKETING_SPEND",
        warehouse="DEMO_WH",
        comment="one-off: compatibility view for the renamed source",
    ))
    fixed = execute_and_wait(client, "RESTORE_AD_SPEND")
    client.delete_task("RESTORE_AD_SPEND")
    print("compatibility view:", fixed.state)

# %%
if DEMO:
    retried = execute_and_wait(client, ROOT, retry_last=True)
    print(f"run {retried.run_id}: {retried.state} (attempt {retried.extra.get('attempt_number')})")
    assert retried.run_id == failed.run_id  # a retry is a new attempt of the same run
    if retried.state == "FAILED":  # the second bug: see step 4
        print(f"now failing at {retried.first_error_task_name}: {retried.first_error_message}")
        assert retried.first_error_task_name.endswith("COMPUTE_CONVERSION"), retried
    else:
        assert retried.state == "SUCCEEDED", retried

# %% [markdown]
# The root did not run again: only the tasks that had failed, and what waited on them
# (`BUILD_FUNNEL`). Usually that is enough. But on days when a channel had no sessions,
# `COMPUTE_CONVERSION` had failed in the same run with a division by zero, and fails again: that
# is a bug in its definition, not in the data.
#
# ## 4 · Make the fix last: change the definition
#
# The view is a patch. The real fix points the task at the new source, and guards the division
# in `COMPUTE_CONVERSION`, which fails on days without sessions (100051).
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
    print(f"run {fresh.run_id}: {fresh.state}, graph version {fresh.graph_version}")
    assert fresh.state == "SUCCEEDED" and fresh.graph_version > failed.graph_version
    display(tasknb.runs_df(client, ROOT)[["state", "scheduled_time", "duration_s",
                                          "graph_version", "first_error_task_name"]])

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
