"""Write the three tutorial notebooks from the cell texts below (no outputs are stored).

    .venv/bin/python notebooks/_build.py          # rewrites notebooks/0*.ipynb

Edit the notebooks here, not in JupyterLab, so that a change is a reviewable diff of Python.
Every notebook runs on the embedded local server by default and on a real account when its
first cell names a connection. Cells that display widgets are marked ``# NBVAL_IGNORE_OUTPUT``
(nbval has no widget frontend); the checks live in the cells as ``assert`` statements.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

CONNECTION_CELL = (
    "CONNECTION = None  # set to a connection name from ~/.snowflake/connections.toml"
)

SETUP_CELL = """\
import pandas as pd
from IPython.display import display

import tasknb
from tasknb import notebook

client = notebook.client(CONNECTION)
print(notebook.describe(CONNECTION))
print(f"tasks in {client.database}.{client.schema}")"""


def md(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(text.strip("\n"))


def code(text: str) -> nbformat.NotebookNode:
    return new_code_cell(text.strip("\n"))


# ------------------------------------------------------------------------------- 01 explore

EXPLORE = [
    md("""
# 01 · Explore tasks and graph runs

Your Snowflake tasks and their graph runs as pandas DataFrames you can filter, group and plot.

* **Default:** the embedded local Task server with the demo data (three graphs and a few days
  of history), started for this kernel. Nothing to set up.
* **Your account:** put a connection name from `~/.snowflake/connections.toml` in the first
  cell. Nothing else changes.

Everything here uses the REST API only. On Snowflake, `complete-graphs` returns the runs
completed in the **past 60 minutes**: REST history is *recent* history.
"""),
    code(CONNECTION_CELL),
    code(SETUP_CELL),
    md("""
## Tasks, one row each

`tasks_df` has one row per task with typed columns: `state` and `role` are categoricals,
timestamps are timezone-aware, `predecessors` are lists and the schedule is readable text.
"""),
    code("""
tasks = tasknb.tasks_df(client)
assert str(tasks["state"].dtype) == "category" and str(tasks["role"].dtype) == "category"
tasks[["name", "role", "state", "schedule", "predecessors", "warehouse", "comment"]]
"""),
    md("How many roots, children and finalizers, and which are suspended (a suspended child "
       "is skipped in every run):"),
    code("""
tasks.groupby(["role", "state"], observed=False).size().unstack(fill_value=0)
"""),
    md("""
## Graph runs of every root task

`runs_df` takes one root or many. For many, it asks concurrently (bounded) and shows a progress
bar; a root that fails to answer does not lose the others' rows, it is reported in
`runs.attrs["error_summary"]`. The `duration_s` column is ready for plotting, and the error
columns are first-class.
"""),
    code("""
roots = tasknb.tasks_df(client, root_only=True)["name"].tolist()
runs = tasknb.runs_df(client, roots)
print(runs.attrs["error_summary"] or f"{len(roots)} roots answered, {len(runs)} graph runs")
assert str(runs["state"].dtype) == "category" and str(runs["duration_s"].dtype) == "Float64"
runs[["root_task_name", "state", "scheduled_time", "duration_s", "graph_version",
      "first_error_task_name", "first_error_message"]].head(10)
"""),
    md("""
### More history: collect it as you go

REST keeps only the recent past, so a notebook that wants more collects it: read the runs
periodically and keep them in one frame (drop the duplicates). On the local server we can
fast-forward a day in one-hour steps to see this at work; on an account, the cell keeps what
the first read returned (run it again later to add to it).
"""),
    code("""
ON_ACCOUNT = notebook.describe(CONNECTION).startswith("Snowflake account")
collected = [runs[runs["source"] == "complete"]]
if not ON_ACCOUNT:
    for hour in range(24):
        notebook.advance("1 hour")
        collected.append(tasknb.runs_df(client, roots, include_current=False, progress=False))
collected = [frame for frame in collected if len(frame)]
runs = (
    pd.concat(collected, ignore_index=True)
    .drop_duplicates(["root_task_name", "run_id", "completed_time"])
    .sort_values("scheduled_time", ignore_index=True)
) if collected else runs
print(f"{len(runs)} graph runs collected")
runs["root_task_name"].value_counts()
"""),
    md("""
## Outcomes

One row per root: a square per run (oldest left, hover for the time and the first error) and
the counts per state. The same counts as a table follow.
"""),
    code("""
display(tasknb.run_history(runs))
pd.crosstab(runs["root_task_name"], runs["state"])
"""),
    md("""
## Durations

Graph-run duration is the time from the root's query start to the last task's completion. The
charts below are plain SVG (no plotting library needed): one dot per run, coloured by outcome,
with the 95th percentile dashed. With matplotlib installed, pandas plots work as usual too, for
example `runs.plot.scatter(x="scheduled_time", y="duration_s")`.
"""),
    code("""
summary = runs.groupby("root_task_name", observed=True)["duration_s"].describe()
summary[["count", "mean", "50%", "max"]]
"""),
    code("""
for root in sorted(runs["root_task_name"].dropna().unique()):
    display(tasknb.duration_chart(runs[runs["root_task_name"] == root], title=root))
"""),
    md("Runs slower than their root's 95th percentile are worth a look:"),
    code("""
seconds = runs["duration_s"].astype("float64")  # NaN while a run is still going
p95 = seconds.groupby(runs["root_task_name"], observed=True).transform(lambda s: s.quantile(0.95))
runs.loc[seconds > p95, ["root_task_name", "scheduled_time", "duration_s", "state"]]
"""),
    md("""
## One graph, as rows and as a drawing

`dependents_df` lists the graph under a root (depth, predecessors, children, state);
`draw_graph` draws it left to right, coloured by state and by the latest run, with the
finalizer apart and a legend. We pick the root with the largest graph.
"""),
    code("""
sizes = {root: len(client.fetch_task_dependents(root)) for root in roots}
GRAPH_ROOT = max(sizes, key=sizes.get) if sizes else None
print(GRAPH_ROOT, sizes)
tasknb.dependents_df(client, GRAPH_ROOT) if GRAPH_ROOT else None
"""),
    code("""
tasknb.draw_graph(client, GRAPH_ROOT) if GRAPH_ROOT else None
"""),
    md("""
Next: `02_investigate_failures.ipynb` goes from a failed run to its cause and back to green;
`03_teaching_task_graphs.ipynb` builds a graph step by step and fast-forwards the clock.
"""),
]

# ------------------------------------------------------------------- 02 investigate failures

INVESTIGATE = [
    md("""
# 02 · Investigate failures: from a failed run to its cause, and back to green

The path a data engineer takes the morning after:

1. find the failed graph runs,
2. drill down to the failing task, its error and its definition,
3. fix the cause and **retry last** (re-run only what failed),
4. make the fix last by changing the task's definition,
5. keep an eye on the graph in a control panel.

On the embedded local server the demo graph `MARKETING_METRICS` fails for real reasons. On your
account (set `CONNECTION`), steps 1, 2 and 5 work on your own failures; steps 3 and 4 are the
demo's fix and are skipped.
"""),
    code(CONNECTION_CELL),
    code(SETUP_CELL + """
from tasknb.models import Task
from tasknb.widgets import execute_and_wait

roots = tasknb.tasks_df(client, root_only=True)["name"].tolist()
DEMO = "MARKETING_METRICS" in roots  # the demo's failing graph is here
print("roots:", ", ".join(roots))"""),
    md("""
*Demo only:* if this notebook already ran against this server, the next cell puts the demo's
two bugs back (and drops the compatibility view of step 3), so that the story starts over.
"""),
    code("""
def restore_demo_bugs():
    \"\"\"Undo the fixes of an earlier run of this notebook (local demo data only).\"\"\"
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
"""),
    md("""
## 1 · Which runs failed?

`error_only=True` asks `complete-graphs` for FAILED and CANCELLED runs only. The first error is
all REST knows about a graph run: the first task that failed, its error code and message.
"""),
    code("""
failures = tasknb.runs_df(client, roots, error_only=True)
failures[["root_task_name", "scheduled_time", "first_error_task_name", "first_error_code",
          "first_error_message"]]
"""),
    md("""
REST history is recent history (the past hour on Snowflake), so a failure from last night may
be out of sight. On the demo we run the graph once now, to see whether it still fails:
`execute_and_wait` starts one graph run and returns it when it has finished.
"""),
    code("""
if DEMO:
    ROOT = "MARKETING_METRICS"
    failed = execute_and_wait(client, ROOT)
    assert failed.state == "FAILED", failed
elif len(failures):
    latest = failures.sort_values("completed_time").iloc[-1]
    ROOT = latest["root_task_name"]
    failed = [r for r in client.get_complete_graphs(ROOT, error_only=True)][0]
else:
    ROOT, failed = None, None
    print("No failed graph run in the recent history: nothing to investigate.")
failed
"""),
    md("""
## 2 · Drill down: the failing task, its error and its definition
"""),
    code("""
if failed is not None:
    culprit = client.fetch_task(failed.first_error_task_name.split(".")[-1])
    print(f"{culprit.name} failed with {failed.first_error_code}:")
    print("   ", failed.first_error_message.replace("\\n", "\\n    "))
    print(f"\\n-- definition of {culprit.name} --\\n{culprit.definition}")
    print(f"\\n-- comment --\\n{culprit.comment}")
"""),
    md("""
The same in a panel: filter the runs by state and time, pick a failed run, and see the failing
task with its error and definition. **Retry this run** is offered only for the latest run, and
only when it failed (that is what RETRY LAST can do).
"""),
    code("""
# NBVAL_IGNORE_OUTPUT
explorer = tasknb.RunExplorer(client, ROOT) if ROOT else None
if explorer is not None:
    explorer.state_filter.value = ("FAILED",)
    explorer.picker.value = explorer.picker.options[0][1]
explorer
"""),
    md("""
## 3 · Fix the cause, then retry last

The demo's `LOAD_AD_SPEND` reads `RAW.AD_SPEND`, but the source was renamed to
`RAW.MARKETING_SPEND` (error 002003). RETRY LAST (`execute_task(..., retry_last=True)`) re-runs
only the failed tasks and what depends on them, in a new attempt of the same run, **provided
the graph has not been modified since that run**. So the quick fix restores what the task
expects without touching the graph: a compatibility view. We run that one statement through a
one-off standalone task (on Snowflake you could also run it in a worksheet).
"""),
    code("""
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
"""),
    code("""
if DEMO:
    retried = execute_and_wait(client, ROOT, retry_last=True)
    print(f"run {retried.run_id}: {retried.state} (attempt {retried.extra.get('attempt_number')})")
    assert retried.run_id == failed.run_id  # a retry is a new attempt of the same run
    if retried.state == "FAILED":  # the second bug: see step 4
        print(f"now failing at {retried.first_error_task_name}: {retried.first_error_message}")
        assert retried.first_error_task_name.endswith("COMPUTE_CONVERSION"), retried
    else:
        assert retried.state == "SUCCEEDED", retried
"""),
    md("""
The root did not run again: only the tasks that had failed, and what waited on them
(`BUILD_FUNNEL`). Usually that is enough. But on days when a channel had no sessions,
`COMPUTE_CONVERSION` had failed in the same run with a division by zero, and fails again: that
is a bug in its definition, not in the data.

## 4 · Make the fix last: change the definition

The view is a patch. The real fix points the task at the new source, and guards the division
in `COMPUTE_CONVERSION`, which fails on days without sessions (100051).

Changing any task of a graph needs its **root suspended** (Snowflake answers 091421 otherwise).
The change makes a new graph version; RETRY LAST never retries across versions, so the next
run is a fresh one.
"""),
    code("""
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
"""),
    code("""
if DEMO:
    fresh = execute_and_wait(client, ROOT)
    print(f"run {fresh.run_id}: {fresh.state}, graph version {fresh.graph_version}")
    assert fresh.state == "SUCCEEDED" and fresh.graph_version > failed.graph_version
    display(tasknb.runs_df(client, ROOT)[["state", "scheduled_time", "duration_s",
                                          "graph_version", "first_error_task_name"]])
"""),
    md("""
## 5 · The control panel

State, drawing, recent runs and the four actions. A button is enabled only when its action is
valid, and says why when it is not (hover it, or read the grey line). **Execute** and
**Suspend** take two steps and list what they affect before **Confirm**. After Execute the
panel follows the run live, without blocking the notebook, and redraws when it ends.
"""),
    code("""
# NBVAL_IGNORE_OUTPUT
panel = tasknb.TaskPanel(client, ROOT) if ROOT else None
panel
"""),
    code("""
if panel is not None:
    assert not panel.buttons["execute"].disabled
    print({action: button.tooltip for action, button in panel.buttons.items()})
"""),
]

# -------------------------------------------------------------------- 03 teaching task graphs

TEACHING = [
    md("""
# 03 · Task graphs, step by step

We build a small task graph, run it by hand, put it on a schedule and fast-forward the clock to
watch schedules and conditions play out. The rules you will meet are Snowflake's own.

On the embedded local server the clock is **manual**: `notebook.advance("3 minutes")` jumps
ahead and runs whatever was scheduled in between, at once. On your account (set `CONNECTION`)
the same cells wait for real (about ten minutes in all) and create `TEACH_*` tasks in your
connection's schema; the last cell drops them.
"""),
    code(CONNECTION_CELL),
    code(SETUP_CELL + """
from tasknb import MinutesSchedule, Task, TasknbError
from tasknb.widgets import execute_and_wait

PREFIX = "TEACH_"
ON_ACCOUNT = notebook.describe(CONNECTION).startswith("Snowflake account")
EXPECTED_RUNS = 1 if ON_ACCOUNT else 3  # Snowflake only promises "not earlier than" the interval


def drop_teaching_tasks():
    \"\"\"Remove the TEACH_* tasks (the root is suspended first, as Snowflake requires).\"\"\"
    existing = client.list_tasks(starts_with=PREFIX)
    for task in existing:
        if task.role == "root" and task.state == "started":
            client.suspend_task(task.name)
    for task in sorted(existing, key=lambda t: t.role == "root"):
        client.delete_task(task.name, if_exists=True)


drop_teaching_tasks()  # start clean, also when the notebook is run twice"""),
    md("""
## 1 · A root task

A task is one SQL statement plus, for a root, a schedule. This root stands for an extract: it
*returns* how many new rows it found (`SYSTEM$SET_RETURN_VALUE`), so that its children can
decide whether to run. For now it finds none.

**Every new task starts suspended.**
"""),
    code("""
client.create_task(Task(
    "TEACH_EXTRACT",
    "SELECT SYSTEM$SET_RETURN_VALUE('0')",
    schedule=MinutesSchedule(1),
    comment="extract: returns the number of new rows",
))
tasknb.tasks_df(client, starts_with=PREFIX)[["name", "role", "state", "schedule"]]
"""),
    md("""
## 2 · Children, conditions and a finalizer

* `TEACH_TRANSFORM` runs after the extract, **when** it returned more than zero rows;
* `TEACH_ALERT` runs after the extract **when** it returned zero rows, and fails on purpose,
  so that an empty load shows up as a failed run;
* `TEACH_LOAD` runs after the transform;
* `TEACH_CLEANUP` is the **finalizer**: it runs at the end of every run, success or not.
"""),
    code("""
rows = "SYSTEM$GET_PREDECESSOR_RETURN_VALUE('TEACH_EXTRACT')::INT"
client.create_task(Task("TEACH_TRANSFORM", "SELECT 1", predecessors=["TEACH_EXTRACT"],
                        condition=f"{rows} > 0"))
client.create_task(Task("TEACH_ALERT", "SELECT TO_NUMBER('no new rows')",
                        predecessors=["TEACH_EXTRACT"], condition=f"{rows} = 0",
                        comment="fails on purpose when nothing was extracted"))
client.create_task(Task("TEACH_LOAD", "SELECT 2", predecessors=["TEACH_TRANSFORM"]))
client.create_task(Task("TEACH_CLEANUP", "SELECT 3", finalize="TEACH_EXTRACT"))
tasknb.dependents_df(client, "TEACH_EXTRACT")[["task", "depth", "role", "state", "condition"]]
"""),
    code("""
tasknb.draw_graph(client, "TEACH_EXTRACT")
"""),
    md("""
## 3 · Run it by hand, while everything is suspended

A suspended root (or standalone task) can be executed: that is how you test a graph. Executing
does **not** resume the children: suspended children are skipped, as if they had succeeded.
The graph run succeeds, though only the root ran.
"""),
    code("""
first = execute_and_wait(client, "TEACH_EXTRACT")
print(first.state, "graph version", first.graph_version)
assert first.state == "SUCCEEDED"
"""),
    md("""
## 4 · Resume: children first, then the root

Once the root is started, the graph is locked: resuming, suspending or changing any of its
tasks is refused (error 091421). So the children go first.
"""),
    code("""
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
"""),
    md("""
The root is on its schedule now; `current-graphs` shows the next scheduled run.
"""),
    code("""
[(run.state, run.scheduled_time.strftime("%H:%M:%S")) for run in client.get_current_graphs("TEACH_EXTRACT")]
"""),
    md("""
## 5 · Fast-forward: the schedule fires, the condition decides

Three minutes later there are three more runs. The extract returned 0 each time, so
`TEACH_ALERT` ran and failed the run, and `TEACH_TRANSFORM` (and so `TEACH_LOAD`) was skipped.
"""),
    code("""
notebook.advance("3 minutes")
runs = tasknb.runs_df(client, "TEACH_EXTRACT", include_current=False)
runs[["state", "scheduled_time", "graph_version", "first_error_task_name", "first_error_message"]]
"""),
    code("""
scheduled = runs[runs["scheduled_time"] > pd.Timestamp(first.scheduled_time)]
assert len(scheduled) >= EXPECTED_RUNS and set(scheduled["state"]) == {"FAILED"}
assert set(scheduled["first_error_task_name"].str.split(".").str[-1]) == {"TEACH_ALERT"}
"""),
    md("""
## 6 · Change the graph: suspend, alter, resume

New rows arrive: the extract now returns 42. Changing a task of a started graph is refused, so
we suspend the root, change the task (`create_or_alter_task` replaces its whole definition)
and resume. The next runs use a **new graph version**.
"""),
    code("""
client.suspend_task("TEACH_EXTRACT")
extract = client.fetch_task("TEACH_EXTRACT")
extract.definition = "SELECT SYSTEM$SET_RETURN_VALUE('42')"
client.create_or_alter_task(extract)
client.resume_task("TEACH_EXTRACT")
notebook.advance("3 minutes")
runs = tasknb.runs_df(client, "TEACH_EXTRACT", include_current=False)
runs[["state", "scheduled_time", "graph_version", "first_error_task_name"]]
"""),
    code("""
newest = runs[runs["graph_version"] == runs["graph_version"].max()]
assert len(newest) >= EXPECTED_RUNS and set(newest["state"]) == {"SUCCEEDED"}, newest
assert newest["graph_version"].min() > scheduled["graph_version"].max()
display(tasknb.run_history(runs))
"""),
    md("""
Now the alert is skipped and the transform and load run: the failures stop and the version
went up by one.

## 7 · Suspend: the schedule stops

Suspending the root cancels its future runs (a run already executing would finish). Fast
forward again: nothing new.
"""),
    code("""
client.suspend_task("TEACH_EXTRACT")
before = len(tasknb.runs_df(client, "TEACH_EXTRACT", include_current=False))
notebook.advance("3 minutes")
after = len(tasknb.runs_df(client, "TEACH_EXTRACT", include_current=False))
print(f"runs before: {before}, after three more minutes: {after}")
assert after <= before  # no new runs (older ones may leave the recent-history window)
"""),
    md("""
## 8 · Play with it

The control panel offers the same actions with their rules built in: Resume is enabled (the
root is suspended), Suspend is not, and Execute asks for confirmation, then follows the run.
"""),
    code("""
# NBVAL_IGNORE_OUTPUT
panel = tasknb.TaskPanel(client, "TEACH_EXTRACT")
panel
"""),
    code("""
assert panel.buttons["suspend"].disabled and not panel.buttons["resume"].disabled
print(panel.buttons["suspend"].tooltip)
"""),
    md("When you are done, drop the teaching tasks:"),
    code("""
drop_teaching_tasks()
assert client.list_tasks(starts_with=PREFIX) == []
"""),
]

NOTEBOOKS = {
    "01_explore.ipynb": EXPLORE,
    "02_investigate_failures.ipynb": INVESTIGATE,
    "03_teaching_task_graphs.ipynb": TEACHING,
}


def build(name: str, cells: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"{name.split('_')[0]}-{index:02d}"  # stable ids: clean diffs
    nbformat.validate(nb)
    return nb


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        path = HERE / name
        nbformat.write(build(name, cells), path)
        print(f"wrote {path.relative_to(HERE.parent)} ({len(cells)} cells)")


if __name__ == "__main__":
    main()
