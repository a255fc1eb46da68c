"""Snowflake's rules for the local server, in one namespace: ``rules.fold_identifier``,
``rules.not_found``, ``rules.MAX_GRAPH_TASKS``, ``rules.check_graph_runnable``, ...

    >>> fold_identifier("my_task"), qualified("DB", "s", "T")
    ('MY_TASK', 'DB."s".T')

Each job lives in its own module; this one gathers them for the callers that read
``rules.<name>``:

* :mod:`tasknb.local.errors`: error codes, :class:`ApiError` and its makers, ``StartupError``;
* :mod:`tasknb.local.limits`: limits and allowed values;
* :mod:`tasknb.local.names`: identifier folding and rendering, valid-Unicode checks;
* :mod:`tasknb.local.query`: query parameters and the SHOW filters (LIKE in linear time);
* :mod:`tasknb.local.dag`: graph indexes, order and the checks before a graph runs.

Everything here is pure: no I/O, no locks.
"""

from __future__ import annotations

from tasknb.local.dag import (  # noqa: F401 - gathered for rules.<name>
    check_graph_runnable,
    children_index,
    descendants,
    finalizer_index,
    find_cycle,
    graph_members,
    in_graph,
    is_root,
    roots_of,
    topological_order,
)
from tasknb.local.errors import (  # noqa: F401 - gathered for rules.<name>
    ALREADY_EXISTS,
    BAD_REQUEST,
    DOES_NOT_EXIST,
    METHOD_NOT_ALLOWED,
    NO_SUCH_ENDPOINT,
    REQUEST_IN_PROGRESS,
    RESULT_NOT_FOUND,
    RETRY_NO_FAILURES,
    RETRY_NOTHING_SUITABLE,
    ROOT_NOT_SUSPENDED,
    SERVERLESS_ONLY,
    TASK_RULE,
    UNAUTHORIZED,
    UNSUPPORTED_MEDIA_TYPE,
    ApiError,
    already_exists,
    bad_request,
    not_found,
    root_not_suspended,
    rule_error,
)
from tasknb.local.limits import (  # noqa: F401 - gathered for rules.<name>
    CREATE_MODES,
    DEFAULT_RESULT_LIMIT,
    DEFAULT_SUSPEND_AFTER_FAILURES,
    DEFAULT_TASK_TIMEOUT_MS,
    MAX_AUTO_RETRY_ATTEMPTS,
    MAX_CHILDREN,
    MAX_GRAPH_TASKS,
    MAX_IDENTIFIER_LENGTH,
    MAX_PREDECESSORS,
    MAX_RESULT_LIMIT,
    MAX_RETURN_VALUE_BYTES,
    MAX_SHOW_LIMIT,
    MAX_TASK_TIMEOUT_MS,
    OVERLAP_POLICIES,
    WAREHOUSE_SIZE_ALIASES,
    WAREHOUSE_SIZES,
)
from tasknb.local.names import (  # noqa: F401 - gathered for rules.<name>
    check_request_text,
    check_text,
    fold_identifier,
    local_name,
    qualified,
    render_identifier,
    split_qualified,
)
from tasknb.local.query import (  # noqa: F401 - gathered for rules.<name>
    LikePattern,
    check_create_mode,
    filter_names,
    parse_bool,
    parse_int,
)
