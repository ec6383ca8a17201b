"""Every composite-key index of the ledger, in one place.

Attribute lists are what follows the object type in the key. ``date`` is
:func:`~orchestrator.shared.store.keys.sortable_time` of the creation date, so a scan in key
order is the PAGE-4 order (creation date, then key). ``*_desc`` attributes are
:func:`~orchestrator.shared.store.keys.descending` of a UUID (PERF-12 sorts those descending).
Statuses are enum value names (``STATUS_TODO``). Booleans are ``"true"``/``"false"``.
"""

from __future__ import annotations

from typing import Final

# organizations
ORGANIZATION_BY_DATE: Final = "organization~date~id"

# algos
ALGO_BY_DATE: Final = "algo~date~key"
ALGO_BY_CATEGORY: Final = "algo~category~date~key"  # category as enum name
ALGO_OF_PLAN: Final = "computeplan~algo"  # plan key, algo key: algos used by a plan's tasks (ALGO-15)

# data managers and samples
DATAMANAGER_BY_DATE: Final = "datamanager~date~key"
DATASAMPLE_BY_DATE: Final = "datasample~date~key"
DATASAMPLE_BY_MANAGER: Final = "datasample~manager~testonly~date~key"  # DSET-2

# compute plans
PLAN_BY_DATE: Final = "computeplan~date~key"
PLAN_BY_OWNER: Final = "computeplan~owner~date~key"

# compute tasks
TASK_BY_PLAN_STATUS: Final = "computePlan~computePlanKey~status~task"  # plan, status, task key: counts (CP-10)
TASK_BY_PLAN: Final = "computetask~plan~date~key"  # listing and cancellation order (CP-17, TASK-50)
TASK_BY_DATE: Final = "computetask~date~key"
TASK_BY_WORKER_STATUS: Final = "computetask~worker~status~date~key"
TASK_BY_STATUS: Final = "computetask~status~date~key"
TASK_BY_ALGO: Final = "computetask~algo~date~key"
TASK_BY_CATEGORY: Final = "computetask~category~date~key"
TASK_CHILDREN: Final = "computeTask~parentTask~key"  # parent key, child key (STATE-12, MODEL-14)

# models
MODEL_BY_DATE: Final = "model~date~key"
MODEL_BY_CATEGORY: Final = "model~category~date~key"
MODEL_BY_TASK: Final = "model~taskKey~date~modelKey"  # MODEL-10 order: creation date, then key

# performances (PERF-12: creation date asc, metric desc, task desc)
PERFORMANCE_BY_DATE: Final = "performance~date~metric_desc~task_desc"
PERFORMANCE_BY_TASK: Final = "performance~task~date~metric_desc~task_desc"
PERFORMANCE_BY_METRIC: Final = "performance~metric~date~metric_desc~task_desc"
